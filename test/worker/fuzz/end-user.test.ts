// Fuzz: the end-user API (/t/{slug}/v1/auth/*, JWKS) with hostile requests. See run.ts.
import { isEmailRoute } from './run.ts';
import { describeTenantFamily } from './tenant-family.ts';

describeTenantFamily('end-user', {
  inFamily: (r) =>
    (r.path.startsWith('/v1/auth/') || r.path.startsWith('/.well-known/')) &&
    !r.path.startsWith('/v1/auth/mfa') &&
    !r.path.startsWith('/v1/auth/passkeys') &&
    !r.path.startsWith('/v1/auth/consents') &&
    !isEmailRoute(r.path),
  minRoutes: 11,
});
