import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { REFRESH_PER_SESSION } from '../ratelimit/policies.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { TenantScope } from '../tenants/context.ts';
import { OIDC_SCOPES } from './claims.ts';
import { authenticateClient, type ClientCredentials } from './client-auth.ts';
import { param, type Params } from './form.ts';
import { mintAccessToken } from './mint.ts';
import { loadRefreshGrant, rotateGrantToken } from './refresh-repo.ts';
import { loadClientContext, revokeGrant } from './token-repo.ts';
import { invalidGrant, tokenAudit, type OAuthTokenResponse } from './grant-common.ts';

function requestedScopes(params: Params): string[] | null {
  const text = param(params, 'scope', 1024);
  return text === undefined ? null : [...new Set(text.split(' ').filter(Boolean))];
}

/**
 * refresh_token (RFC 6749 §6) with the JSON API's rotation and reuse detection. Two round trips
 * (read, then rotate); a replay costs the read and the grant's revocation. Only the client the
 * token was issued to may use it; a narrower `scope` applies to the new access token only.
 */
export async function refreshGrant(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  credentials: ClientCredentials,
  info: ClientInfo,
): Promise<OAuthTokenResponse> {
  const presented = param(params, 'refresh_token', 512);
  if (presented === undefined) throw new AppError('invalid_request', 'refresh_token missing');
  const now = deps.clock.now();
  const presentedHash = await hashToken(presented);
  const found = await loadRefreshGrant(deps.db, scope, credentials.clientId, presentedHash, now);
  if (found === null) throw new AppError('unknown_tenant', 'no such tenant');
  const client = await authenticateClient(found.client, credentials);
  const { tenant, token } = found;
  if (!client.grantTypes.includes('refresh_token')) {
    throw new AppError('unauthorized_client', 'this client may not use refresh tokens');
  }
  // Another client's token is refused and left alone: presenting it proves nothing about reuse.
  if (token.state === 'invalid' || token.clientId !== client.id) throw invalidGrant();
  if (token.state === 'reused') {
    await revokeGrant(
      deps.db,
      tenant.id,
      token.codeId,
      now,
      tokenAudit(
        tenant.id,
        client,
        { type: 'anonymous' },
        now,
        info,
        { action: 'grant_revoked', grant_id: token.codeId },
        'security.token.reuse_detected',
      ),
    );
    throw invalidGrant();
  }
  const narrowed = requestedScopes(params);
  if (narrowed !== null && narrowed.some((s) => !token.scopes.includes(s))) {
    throw new AppError('invalid_scope', 'a refresh cannot widen the grant');
  }
  await enforce(deps, REFRESH_PER_SESSION.name, token.sessionId, { tenant, client: info });
  const next = encodeBase64url(deps.random.bytes(32));
  const rotated = await rotateGrantToken(deps.db, {
    tenantId: tenant.id,
    clientInternalId: client.id,
    presentedHash,
    next: { id: crypto.randomUUID(), tokenHash: await hashToken(next), now },
    ttlSeconds: client.refreshTokenTTLSeconds ?? tenant.settings.refreshTokenTTLSeconds,
    graceSeconds: tenant.settings.refreshReuseGraceSeconds,
    audit: tokenAudit(tenant.id, client, { type: 'user', id: null }, now, info, {
      grant_type: 'refresh_token',
    }),
  });
  // Lost a race to a concurrent rotation, or the session or grant ended in between.
  if (rotated === null) throw invalidGrant();
  const scopes = narrowed ?? rotated.scopes;
  const access = await mintAccessToken(deps, tenant, client, found.key, {
    scopes,
    user: rotated.user,
    sessionId: rotated.sessionId,
    grantId: rotated.codeId,
  });
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: scopes.join(' '),
    refresh_token: next,
  };
}

/**
 * client_credentials (RFC 6749 §4.4): a confidential client acting for itself. Scopes are the
 * client's registered API scopes (never the OpenID ones: there is no user); no refresh token, no
 * ID token. Two round trips: the read, then the `oauth.token` event.
 */
export async function clientCredentialsGrant(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  credentials: ClientCredentials,
  info: ClientInfo,
): Promise<OAuthTokenResponse> {
  const context = await loadClientContext(deps.db, scope, credentials.clientId);
  if (context === null) throw new AppError('unknown_tenant', 'no such tenant');
  const client = await authenticateClient(context.client, credentials);
  if (client.type !== 'confidential' || !client.grantTypes.includes('client_credentials')) {
    throw new AppError('unauthorized_client', 'this client may not use client_credentials');
  }
  const oidc = new Set<string>(OIDC_SCOPES);
  const allowed = client.scopes.filter((s) => !oidc.has(s));
  const requested = requestedScopes(params) ?? allowed;
  if (requested.some((s) => !allowed.includes(s))) {
    throw new AppError('invalid_scope', 'a requested scope is not available to this client');
  }
  const now = deps.clock.now();
  const access = await mintAccessToken(deps, context.tenant, client, context.key, {
    scopes: requested,
  });
  await recordAuditEvent(
    deps.db,
    tokenAudit(context.tenant.id, client, { type: 'system', id: null }, now, info, {
      grant_type: 'client_credentials',
      scopes: requested,
    }),
  );
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: requested.join(' '),
  };
}
