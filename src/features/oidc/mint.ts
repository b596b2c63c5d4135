import { SignJWT, base64url } from 'jose';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { sha256 } from '../../lib/keys.ts';
import type { OAuthClient } from '../clients/repo.ts';
import type { ActiveKey } from '../sessions/repo.ts';
import { issuerURL, type Tenant } from '../tenants/context.ts';
import { signAccessToken, unsealPrivateKey } from '../tokens/keys.ts';
import { acrOf, scopedClaims, type ClaimsUser } from './claims.ts';

/** What an access token of a client is for: a user's grant, or the client itself. */
export interface AccessGrant {
  scopes: string[];
  /** Absent for client_credentials: the client acts for itself. */
  user?: ClaimsUser;
  sessionId?: string;
  /** The grant's id (its authorization code's row): revocation and introspection look it up. */
  grantId?: string;
}

export interface Minted {
  token: string;
  expiresIn: number;
}

function signingKey(key: ActiveKey | null): ActiveKey {
  if (key === null) throw new AppError('server_error', 'the tenant has no active signing key');
  return key;
}

/**
 * RFC 9068 access token bound to the client: `aud` and `client_id` are the client's id, so a
 * token minted for one client is refused by the JSON API (whose audience is the tenant's) and by
 * every other client's introspection.
 */
export async function mintAccessToken(
  deps: Deps,
  tenant: Tenant,
  client: OAuthClient,
  key: ActiveKey | null,
  grant: AccessGrant,
): Promise<Minted> {
  const active = signingKey(key);
  const ttl = client.accessTokenTTLSeconds ?? tenant.settings.accessTokenTTLSeconds;
  const user = grant.user;
  const claims = {
    // Mapped claims first: the fixed claims below always win.
    ...(user === undefined ? {} : user.accessClaims),
    ...(user !== undefined && grant.scopes.includes('roles') ? { roles: user.roles } : {}),
    sub: user?.id ?? client.clientId,
    client_id: client.clientId,
    scope: grant.scopes.join(' '),
    tenant: tenant.slug,
    ...(grant.sessionId === undefined ? {} : { sid: grant.sessionId }),
    ...(grant.grantId === undefined ? {} : { gid: grant.grantId }),
  };
  const token = await signAccessToken({
    key: await unsealPrivateKey(deps.config.secretKey, tenant.id, active),
    kid: active.kid,
    alg: active.alg,
    issuer: issuerURL(deps.config, tenant.slug),
    audience: client.clientId,
    now: deps.clock.now(),
    ttlSeconds: ttl,
    jti: crypto.randomUUID(),
    claims,
  });
  return { token, expiresIn: ttl };
}

export interface IDTokenInput {
  user: ClaimsUser;
  scopes: string[];
  sessionId: string;
  authTime: Date;
  amr: string[];
  nonce: string | null;
  accessToken: string;
}

/** OIDC Core §2 ID token; `at_hash` (§3.1.3.6) lets the client bind the access token to it. */
export async function mintIDToken(
  deps: Deps,
  tenant: Tenant,
  client: OAuthClient,
  key: ActiveKey | null,
  input: IDTokenInput,
): Promise<string> {
  const active = signingKey(key);
  const iat = Math.floor(deps.clock.now().getTime() / 1000);
  const ttl = client.idTokenTTLSeconds ?? tenant.settings.accessTokenTTLSeconds;
  const claims: Record<string, unknown> = {
    ...scopedClaims(input.user, input.scopes, issuerURL(deps.config, tenant.slug)),
    auth_time: Math.floor(input.authTime.getTime() / 1000),
    amr: input.amr,
    acr: acrOf(input.amr),
    sid: input.sessionId,
    azp: client.clientId,
    at_hash: await atHash(input.accessToken, active.alg),
    ...(input.nonce === null ? {} : { nonce: input.nonce }),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: active.alg, kid: active.kid, typ: 'JWT' })
    .setIssuer(issuerURL(deps.config, tenant.slug))
    .setSubject(input.user.id)
    .setAudience(client.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .sign(await unsealPrivateKey(deps.config.secretKey, tenant.id, active));
}

/** Left half of the SHA-256 of the token (both ES256 and RS256 use SHA-256), base64url. */
async function atHash(accessToken: string, alg: string): Promise<string> {
  if (alg !== 'ES256' && alg !== 'RS256') throw new AppError('server_error', 'unexpected key alg');
  const digest = await sha256(accessToken);
  return base64url.encode(digest.slice(0, digest.length / 2));
}
