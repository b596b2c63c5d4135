import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { hashToken, sha256 } from '../../lib/keys.ts';
import type { OAuthClient } from '../clients/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { TenantScope } from '../tenants/context.ts';
import { authenticateClient, readClientCredentials } from './client-auth.ts';
import { param, type Params } from './form.ts';
import { clientCredentialsGrant, refreshGrant } from './grants-service.ts';
import { invalidGrant, tokenAudit, type OAuthTokenResponse } from './grant-common.ts';
import { mintAccessToken, mintIDToken } from './mint.ts';
import {
  loadCodeGrant,
  redeemCode,
  revokeGrant,
  type CodeGrant,
  type IssuedRefreshToken,
} from './token-repo.ts';

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** /oauth2/token: client authentication, then the grant. */
export async function issueToken(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  authorization: string | undefined,
  info: ClientInfo,
): Promise<OAuthTokenResponse> {
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw new AppError('invalid_request', 'grant_type missing');
  const credentials = readClientCredentials(authorization, params);
  switch (grantType) {
    case 'authorization_code':
      return codeGrant(deps, scope, params, credentials, info);
    case 'refresh_token':
      return refreshGrant(deps, scope, params, credentials, info);
    case 'client_credentials':
      return clientCredentialsGrant(deps, scope, params, credentials, info);
    default:
      throw new AppError('unsupported_grant_type', 'this grant type is not supported');
  }
}

/**
 * authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). Two round trips: one read (tenant, client,
 * key, code, session, user and claims), one write (code marked used, refresh token, audit). A
 * code presented again revokes its grant (RFC 6749 §4.1.2: "SHOULD revoke all tokens").
 */
async function codeGrant(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  credentials: ReturnType<typeof readClientCredentials>,
  info: ClientInfo,
): Promise<OAuthTokenResponse> {
  const presented = param(params, 'code', 256);
  if (presented === undefined) throw new AppError('invalid_request', 'code missing');
  const redirectURI = param(params, 'redirect_uri', 2048);
  const verifier = param(params, 'code_verifier', 128);
  const now = deps.clock.now();
  const grant = await loadCodeGrant(
    deps.db,
    scope,
    credentials.clientId,
    await hashToken(presented),
    now,
  );
  if (grant === null) throw new AppError('unknown_tenant', 'no such tenant');
  const client = await authenticateClient(grant.client, credentials);
  if (!client.grantTypes.includes('authorization_code')) {
    throw new AppError('unauthorized_client', 'this client may not use the authorization code');
  }
  const code = grant.code;
  // Another client's code is refused without touching it: that client may still redeem it.
  if (code === null || code.clientId !== client.id) throw invalidGrant();
  if (code.used) {
    await revokeReplayedCode(deps, grant, client, now, info);
    throw invalidGrant();
  }
  if (code.revoked || code.expiresAt.getTime() <= now.getTime()) throw invalidGrant();
  if (redirectURI !== code.redirectURI) throw invalidGrant('redirect_uri does not match');
  await checkPKCE(code.codeChallenge, verifier);
  const user = grant.user;
  if (user === null || grant.sessionExpiresAt === null) {
    throw invalidGrant('the sign-in session behind this code has ended');
  }

  const access = await mintAccessToken(deps, grant.tenant, client, grant.key, {
    scopes: code.scopes,
    user,
    sessionId: code.sessionId,
    grantId: code.id,
  });
  const response: OAuthTokenResponse = {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: code.scopes.join(' '),
  };
  if (code.scopes.includes('openid')) {
    response.id_token = await mintIDToken(deps, grant.tenant, client, grant.key, {
      user,
      scopes: code.scopes,
      sessionId: code.sessionId,
      authTime: code.authTime,
      amr: code.amr,
      nonce: code.nonce,
      accessToken: access.token,
    });
  }
  let refresh: IssuedRefreshToken | null = null;
  if (client.grantTypes.includes('refresh_token') && code.scopes.includes('offline_access')) {
    const ttl = client.refreshTokenTTLSeconds ?? grant.tenant.settings.refreshTokenTTLSeconds;
    const token = encodeBase64url(deps.random.bytes(32));
    refresh = {
      id: crypto.randomUUID(),
      tokenHash: await hashToken(token),
      // Bound to the SSO session: the grant ends when the user signs out (see routes.ts).
      expiresAt: new Date(Math.min(now.getTime() + ttl * 1000, grant.sessionExpiresAt.getTime())),
    };
    response.refresh_token = token;
  }
  const redeemed = await redeemCode(deps.db, {
    tenantId: grant.tenant.id,
    code,
    refresh,
    now,
    audit: tokenAudit(grant.tenant.id, client, { type: 'user', id: user.id }, now, info, {
      grant_type: 'authorization_code',
      scopes: code.scopes,
      refresh_token: refresh !== null,
    }),
  });
  if (!redeemed) {
    // A concurrent exchange won the row lock: this presentation is the replay.
    await revokeReplayedCode(deps, grant, client, now, info);
    throw invalidGrant();
  }
  return response;
}

async function revokeReplayedCode(
  deps: Deps,
  grant: CodeGrant,
  client: OAuthClient,
  now: Date,
  info: ClientInfo,
): Promise<void> {
  const code = grant.code!;
  await revokeGrant(
    deps.db,
    grant.tenant.id,
    code.id,
    now,
    tokenAudit(
      grant.tenant.id,
      client,
      { type: 'anonymous' },
      now,
      info,
      { action: 'grant_revoked', grant_id: code.id },
      'oauth.code.reuse_detected',
    ),
  );
  deps.log.warn('authorization code reuse detected; grant revoked', {
    tenantSlug: grant.tenant.slug,
    clientId: client.clientId,
  });
}

/**
 * S256 only (plain was refused at /authorize). A verifier with no challenge is refused too
 * (RFC 9700 §2.1.1: it would mask a downgrade). Compared in constant time.
 */
async function checkPKCE(challenge: string | null, verifier: string | undefined): Promise<void> {
  if (challenge === null) {
    if (verifier !== undefined) throw invalidGrant('no code_challenge was sent for this code');
    return;
  }
  if (verifier === undefined || !CODE_VERIFIER.test(verifier)) {
    throw invalidGrant('code_verifier missing or malformed');
  }
  const computed = encodeBase64url(await sha256(verifier));
  if (!timingSafeEqual(utf8.encode(computed), utf8.encode(challenge))) {
    throw invalidGrant('code_verifier does not match');
  }
}
