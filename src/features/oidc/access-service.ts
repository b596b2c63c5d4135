import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { hashToken } from '../../lib/keys.ts';
import type { ClientInfo } from '../sessions/service.ts';
import { issuerURL, type TenantScope } from '../tenants/context.ts';
import { loadTokenState, type TokenState } from './access-repo.ts';
import { scopedClaims } from './claims.ts';
import { authenticateClient, readClientCredentials } from './client-auth.ts';
import { param, type Params } from './form.ts';
import { tokenAudit } from './grant-common.ts';
import { revokeGrant } from './token-repo.ts';

interface GrantClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
  sid?: string;
  gid?: string;
}

/** The grant id an access token names, read before verification only to find its row. */
function unverifiedGrantId(token: string): string | null {
  try {
    const gid = decodeJwt(token).gid;
    return typeof gid === 'string' ? gid : null;
  } catch {
    return null;
  }
}

/** Verifies one of our access tokens for `audience` (a client_id); null when it does not verify. */
async function verifyGrantToken(
  deps: Deps,
  state: TokenState,
  token: string,
  audience: string,
): Promise<GrantClaims | null> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: state.keys as JWK[] }), {
      issuer: issuerURL(deps.config, state.tenant.slug),
      audience,
      algorithms: ['ES256', 'RS256'],
      typ: 'at+jwt',
      currentDate: deps.clock.now(),
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.client_id !== 'string' || payload.client_id !== audience) return null;
    if (typeof payload.scope !== 'string') return null;
    return payload as GrantClaims;
  } catch {
    return null;
  }
}

/** Live: a user grant not revoked (and its session live), or the client's own token. */
function isLive(state: TokenState, claims: GrantClaims): boolean {
  if (claims.gid === undefined) return claims.sub === claims.client_id;
  const grant = state.grant;
  return (
    grant !== null &&
    grant.id === claims.gid &&
    grant.live &&
    grant.clientId === claims.client_id &&
    grant.user?.id === claims.sub
  );
}

function bearerError(code: 'invalid_token' | 'insufficient_scope', description: string): AppError {
  return new AppError(code, description, {
    headers: { 'WWW-Authenticate': `Bearer error="${code}", error_description="${description}"` },
  });
}

/** /oauth2/userinfo (OIDC Core §5.3): one round trip. */
export async function userinfo(
  deps: Deps,
  scope: TenantScope,
  token: string | null,
): Promise<Record<string, unknown>> {
  if (token === null) {
    throw new AppError('invalid_token', 'a bearer access token is required', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  const state = await loadTokenState(deps.db, scope, {
    callerClientId: '',
    grantId: unverifiedGrantId(token),
    refreshHash: '',
    now: deps.clock.now(),
  });
  if (state === null) throw new AppError('unknown_tenant', 'no such tenant');
  const claims =
    state.grant === null ? null : await verifyGrantToken(deps, state, token, state.grant.clientId);
  const user = state.grant?.user ?? null;
  if (claims === null || user === null || !isLive(state, claims)) {
    throw bearerError('invalid_token', 'the access token is invalid, expired or revoked');
  }
  const scopes = claims.scope.split(' ');
  if (!scopes.includes('openid')) {
    throw bearerError('insufficient_scope', 'the token was not granted the openid scope');
  }
  const issuer = issuerURL(deps.config, state.tenant.slug);
  return { ...scopedClaims(user, scopes, issuer), sub: user.id };
}

async function authenticatedState(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  authorization: string | undefined,
): Promise<{ state: TokenState; token: string; clientId: string; clientInternalId: string }> {
  const token = param(params, 'token', 8192);
  const credentials = readClientCredentials(authorization, params);
  if (token === undefined) throw new AppError('invalid_request', 'token missing');
  const state = await loadTokenState(deps.db, scope, {
    callerClientId: credentials.clientId,
    grantId: unverifiedGrantId(token),
    refreshHash: await hashToken(token),
    now: deps.clock.now(),
  });
  if (state === null) throw new AppError('unknown_tenant', 'no such tenant');
  const client = await authenticateClient(state.caller, credentials);
  return { state, token, clientId: client.clientId, clientInternalId: client.id };
}

/**
 * /oauth2/introspect (RFC 7662). One round trip. A client learns only about tokens issued to it
 * (the access token's audience is its client_id): anything else, like anything invalid, expired,
 * revoked or of another tenant, is `{active: false}` (§2.2), so the answer leaks nothing.
 */
export async function introspect(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  authorization: string | undefined,
): Promise<Record<string, unknown>> {
  const { state, token, clientId } = await authenticatedState(deps, scope, params, authorization);
  const issuer = issuerURL(deps.config, state.tenant.slug);
  const claims = await verifyGrantToken(deps, state, token, clientId);
  if (claims !== null && isLive(state, claims)) {
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: issuer,
      aud: claims.aud,
      token_type: 'Bearer',
      ...(claims.sid === undefined ? {} : { sid: claims.sid }),
    };
  }
  const refresh = state.refresh;
  if (refresh !== null && refresh.active && refresh.clientId === clientId) {
    return {
      active: true,
      scope: refresh.scopes.join(' '),
      client_id: clientId,
      sub: refresh.userId,
      exp: Math.floor(refresh.expiresAt.getTime() / 1000),
      iat: Math.floor(refresh.createdAt.getTime() / 1000),
      iss: issuer,
      token_type: 'refresh_token',
      sid: refresh.sessionId,
    };
  }
  return { active: false };
}

/**
 * /oauth2/revoke (RFC 7009). Revoking either token revokes its grant: the refresh tokens and
 * (through introspection and userinfo) the access tokens issued from the same code. A token that
 * is unknown or another client's gets the same 200 and nothing is revoked (§2.2). A
 * client_credentials access token is not revocable (no server state): it lapses at `exp`.
 */
export async function revoke(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  authorization: string | undefined,
  info: ClientInfo,
): Promise<void> {
  const auth = await authenticatedState(deps, scope, params, authorization);
  const { state } = auth;
  const claims = await verifyGrantToken(deps, state, auth.token, auth.clientId);
  let grantId: string | null = null;
  if (claims?.gid !== undefined && state.grant?.clientId === auth.clientId) grantId = claims.gid;
  else if (state.refresh !== null && state.refresh.clientInternalId === auth.clientInternalId) {
    grantId = state.refresh.grantId;
  }
  if (grantId === null || state.caller === null) return;
  const now = deps.clock.now();
  await revokeGrant(
    deps.db,
    state.tenant.id,
    grantId,
    now,
    tokenAudit(
      state.tenant.id,
      state.caller,
      { type: 'system', id: null },
      now,
      info,
      {
        grant_id: grantId,
        token_type: claims === null ? 'refresh_token' : 'access_token',
      },
      'oauth.token.revoked',
    ),
  );
}
