import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { issuerURL, type TenantScope } from '../tenants/context.ts';
import { listPublishedKeys } from '../tokens/repo.ts';
import { OIDC_SCOPES, SUPPORTED_CLAIMS } from './claims.ts';

/** OpenID Connect Discovery 1.0 §3, one round trip (the tenant and its key algorithms). */
export async function discoveryDocument(
  deps: Deps,
  scope: TenantScope,
): Promise<Record<string, unknown>> {
  const found = await listPublishedKeys(deps.db, scope);
  if (found === null) throw new AppError('unknown_tenant', 'no such tenant');
  const issuer = issuerURL(deps.config, found.tenant.slug);
  const algs = [
    ...new Set(found.keys.map((key) => key.alg).filter((a): a is string => a !== undefined)),
  ];
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth2/authorize`,
    token_endpoint: `${issuer}/oauth2/token`,
    userinfo_endpoint: `${issuer}/oauth2/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    end_session_endpoint: `${issuer}/oauth2/logout`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported:
      algs.length > 0 ? algs : [found.tenant.settings.signingAlgorithm],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ],
    revocation_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ],
    code_challenge_methods_supported: ['S256'],
    claims_supported: SUPPORTED_CLAIMS,
    // '1': one factor; '2': the session's amr includes mfa (see claims.ts acrOf).
    acr_values_supported: ['1', '2'],
    prompt_values_supported: ['none', 'login', 'consent'],
    // Every authorization response carries `iss` (RFC 9207): mix-up defence for the client.
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}
