// Fuzz: the OpenID Connect provider's back-channel endpoints (token, userinfo, introspection,
// revocation, discovery) with hostile requests, with and without the suite account's session.
// /oauth2/authorize and /oauth2/logout are left out: the specs make their refusals HTML pages
// (no redirect to an unverified URI), which this harness's JSON-only rule would flag.
import { describeTenantFamily } from './tenant-family.ts';

const PAGES = new Set(['/oauth2/authorize', '/oauth2/logout']);

describeTenantFamily('oidc', {
  inFamily: (r) =>
    (r.path.startsWith('/oauth2/') && !PAGES.has(r.path)) ||
    r.path === '/.well-known/openid-configuration',
  minRoutes: 6,
});
