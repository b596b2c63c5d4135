// Fuzz: the passkey API (/t/{slug}/v1/auth/passkeys/*) with hostile requests. See run.ts.
import { describeTenantFamily } from './tenant-family.ts';

describeTenantFamily('passkeys', {
  inFamily: (r) => r.path.startsWith('/v1/auth/passkeys'),
  minRoutes: 5,
});
