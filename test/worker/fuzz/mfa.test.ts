// Fuzz: the second-factor API (/t/{slug}/v1/auth/mfa/*) with hostile requests. See run.ts.
import { describeTenantFamily } from './tenant-family.ts';

describeTenantFamily('mfa', { inFamily: (r) => r.path.startsWith('/v1/auth/mfa'), minRoutes: 5 });
