// Fuzz: the email flows (/t/{slug}/v1/auth/email/*, password forgot and reset, email one-time
// codes) with hostile requests. See run.ts.
import { isEmailRoute } from './run.ts';
import { describeTenantFamily } from './tenant-family.ts';

describeTenantFamily('email', { inFamily: (r) => isEmailRoute(r.path), minRoutes: 6 });
