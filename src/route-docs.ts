import type { RouteDoc } from './http/openapi.ts';
import { accountDocs } from './features/accounts/docs.ts';
import { docsDocs } from './features/docs/routes.ts';
import { emailDocs } from './features/email/docs.ts';
import { federationDocs } from './features/federation/docs.ts';
import { auditDocs } from './features/audit/routes.ts';
import { clientDocs } from './features/clients/admin/docs.ts';
import { consentDocs } from './features/clients/consents/routes.ts';
import { adminDocs } from './features/admin/docs.ts';
import { mailDocs } from './features/mail/docs.ts';
import { metricsDocs } from './features/metrics/routes.ts';
import { mfaDocs } from './features/mfa/docs.ts';
import { oidcDocs } from './features/oidc/docs.ts';
import { pageDocs } from './features/pages/docs.ts';
import { consoleDocs } from './features/console/docs.ts';
import { healthDocs } from './features/health/docs.ts';
import { rbacDocs } from './features/rbac/routes.ts';
import { privacyDocs } from './features/privacy/docs.ts';
import { sessionDocs } from './features/sessions/docs.ts';
import { tokenDocs } from './features/tokens/docs.ts';

/** Every route the app serves, documented; a test holds this list and the router in step. */
export function allRouteDocs(): RouteDoc[] {
  return [
    ...healthDocs,
    ...docsDocs,
    ...accountDocs,
    ...emailDocs,
    ...sessionDocs,
    ...privacyDocs,
    ...consentDocs,
    ...tokenDocs,
    ...mfaDocs,
    ...oidcDocs,
    ...adminDocs,
    ...rbacDocs,
    ...auditDocs,
    ...mailDocs,
    ...clientDocs,
    ...federationDocs,
    ...metricsDocs,
    ...pageDocs,
    ...consoleDocs,
  ];
}
