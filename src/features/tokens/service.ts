import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Deps } from '../../deps.ts';
import { rootKeysOf } from '../../env.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { ActiveKey, ActiveSession, SessionUser } from '../sessions/repo.ts';
import { issuerURL, type Tenant, type TenantScope } from '../tenants/context.ts';
import { unsealPrivateKey, signAccessToken, type AccessTokenClaims } from './keys.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { REFRESH_PER_SESSION } from '../ratelimit/policies.ts';
import {
  findPresentedToken,
  insertRefreshToken,
  listPublishedKeys,
  revokeFamilyOnReuse,
  rotateRefreshToken,
} from './repo.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
}

export function audienceOf(deps: Deps, tenant: Tenant): string {
  return tenant.settings.audience ?? issuerURL(deps.config, tenant.slug);
}

async function accessToken(
  deps: Deps,
  tenant: Tenant,
  key: ActiveKey | null,
  session: ActiveSession,
  user: SessionUser,
): Promise<string> {
  if (key === null) throw new AppError('server_error', 'the tenant has no active signing key');
  const claims: AccessTokenClaims = {
    // Mapped claims first: a fixed claim below always wins (reserved names are refused anyway).
    ...user.mappedClaims,
    sub: user.id,
    sid: session.id,
    tenant: tenant.slug,
    email: user.email,
    email_verified: user.emailVerified,
    org: session.activeOrganizationId,
    role: session.role,
    roles: user.roles,
  };
  return signAccessToken({
    key: await unsealPrivateKey(rootKeysOf(deps.config), tenant.id, key),
    kid: key.kid,
    alg: key.alg,
    issuer: issuerURL(deps.config, tenant.slug),
    audience: audienceOf(deps, tenant),
    now: deps.clock.now(),
    ttlSeconds: tenant.settings.accessTokenTTLSeconds,
    jti: crypto.randomUUID(),
    claims,
  });
}

function newRefreshToken(deps: Deps): { token: string; id: string; now: Date } {
  return {
    token: encodeBase64url(deps.random.bytes(32)),
    id: crypto.randomUUID(),
    now: deps.clock.now(),
  };
}

function secondsUntil(now: Date, then: Date): number {
  return Math.max(0, Math.floor((then.getTime() - now.getTime()) / 1000));
}

/** Session cookie → access token and the first refresh token of the session's family. */
export async function exchangeSession(
  deps: Deps,
  tenant: Tenant,
  key: ActiveKey | null,
  session: ActiveSession,
  user: SessionUser,
): Promise<TokenResponse> {
  const next = newRefreshToken(deps);
  const expiresAt = new Date(
    Math.min(
      next.now.getTime() + tenant.settings.refreshTokenTTLSeconds * 1000,
      session.expiresAt.getTime(),
    ),
  );
  const access = await accessToken(deps, tenant, key, session, user);
  await insertRefreshToken(
    deps.db,
    tenant.id,
    session.id,
    { id: next.id, tokenHash: await hashToken(next.token), now: next.now },
    expiresAt,
  );
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: tenant.settings.accessTokenTTLSeconds,
    refresh_token: next.token,
    refresh_token_expires_in: secondsUntil(next.now, expiresAt),
  };
}

/**
 * Refresh token → access token and the next refresh token; reuse revokes the family. Two round
 * trips: a read names the token's session, the session's `token.refresh` budget is charged (so a
 * refused request writes nothing), then the rotation. A replay costs the same two: the read, then
 * the family's revocation. Only losing a race to a concurrent rotation costs a third.
 */
export async function refresh(
  deps: Deps,
  scope: TenantScope,
  presented: string,
  client: ClientInfo,
): Promise<TokenResponse> {
  const next = newRefreshToken(deps);
  const presentedHash = await hashToken(presented);
  const found = await findPresentedToken(deps.db, scope, presentedHash, next.now);
  if (found === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, token } = found;
  if (token.state === 'invalid') throw invalidGrant();
  if (token.state === 'reused') {
    await revokeOnReuse(deps, tenant, presentedHash, next.now, client);
    throw invalidGrant();
  }
  await enforce(deps, REFRESH_PER_SESSION.name, token.sessionId, { tenant, client });
  const rotation = await rotateRefreshToken(deps.db, scope, presentedHash, {
    id: next.id,
    tokenHash: await hashToken(next.token),
    now: next.now,
  });
  if (rotation === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (rotation.rotated === null) {
    // A concurrent request rotated it between the read and here: this one is the replay.
    await revokeOnReuse(deps, rotation.tenant, presentedHash, next.now, client);
    throw invalidGrant();
  }
  const { session, user, key, expiresAt } = rotation.rotated;
  return {
    access_token: await accessToken(deps, rotation.tenant, key, session, user),
    token_type: 'Bearer',
    expires_in: rotation.tenant.settings.accessTokenTTLSeconds,
    refresh_token: next.token,
    refresh_token_expires_in: secondsUntil(next.now, expiresAt),
  };
}

function invalidGrant(): AppError {
  return new AppError('invalid_grant', 'the refresh token is invalid, expired or already used');
}

async function revokeOnReuse(
  deps: Deps,
  tenant: Tenant,
  presentedHash: string,
  now: Date,
  client: ClientInfo,
): Promise<void> {
  const revokedSession = await revokeFamilyOnReuse(deps.db, tenant.id, presentedHash, now, client);
  if (revokedSession !== null) {
    deps.log.warn('refresh token reuse detected; family revoked', {
      sessionId: revokedSession,
      tenantSlug: tenant.slug,
    });
  }
}

export async function publishedKeys(deps: Deps, scope: TenantScope): Promise<{ keys: JWK[] }> {
  const found = await listPublishedKeys(deps.db, scope);
  if (found === null) throw new AppError('unknown_tenant', 'no such tenant');
  return { keys: found.keys };
}

/**
 * Public keys are immutable per kid, so an isolate may keep them as verifiers keep a JWKS: for
 * the same 5 minutes the JWKS response is cacheable. A retired key stops verifying here within
 * that window, as it would at any resource server.
 */
const JWKS_TTL_MS = 5 * 60 * 1000;
const REFETCH_MS = 1000;
const keyCache = new Map<string, CachedKeys>();

function cacheKey(scope: TenantScope): string {
  return scope.ref.by === 'slug' ? `slug:${scope.ref.slug}` : `host:${scope.ref.hostname}`;
}

export interface VerifiedAccessToken extends JWTPayload {
  sub: string;
  sid: string;
  email: string;
  email_verified: boolean;
  org: string | null;
  role: string | null;
  roles?: string[];
}

/**
 * Verifies a bearer access token with no database round trip once the tenant's keys are cached.
 * The cache holds the tenant too, so a changed `audience` reaches this check within JWKS_TTL_MS:
 * until then a token of the old audience still verifies here (README, "When settings take
 * effect"). A token of another audience re-reads the tenant (at most once a second), so tokens of
 * a new audience verify at once.
 */
export async function verifyAccessToken(
  deps: Deps,
  scope: TenantScope,
  token: string,
): Promise<VerifiedAccessToken> {
  const now = deps.clock.now();
  const key = cacheKey(scope);
  let cached = keyCache.get(key);
  const kid = tokenKeyId(token);
  const stale =
    cached === undefined ||
    now.getTime() - cached.fetchedAt > JWKS_TTL_MS ||
    // A kid we have not seen may be a key rotated in since; look again, at most once a second.
    (kid !== undefined &&
      !cached.keys.some((k) => k.kid === kid) &&
      now.getTime() - cached.fetchedAt > REFETCH_MS);
  if (stale) cached = await refetchKeys(deps, scope, now);
  if (cached === undefined)
    throw new AppError('invalid_token', 'the access token is invalid or expired');
  try {
    return await verifyWith(deps, scope, cached, token, now);
  } catch (error) {
    const otherAudience =
      error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud';
    if (!otherAudience || now.getTime() - cached.fetchedAt <= REFETCH_MS) throw wrapped(error);
  }
  // The tenant's audience may have changed since the keys were cached: look again, once.
  const fresh = await refetchKeys(deps, scope, now);
  try {
    return await verifyWith(deps, scope, fresh, token, now);
  } catch (error) {
    throw wrapped(error);
  }
}

interface CachedKeys {
  keys: JWK[];
  /** jose's key set over `keys`: it keeps the imported CryptoKeys, so each is imported once. */
  keySet: ReturnType<typeof createLocalJWKSet>;
  tenant: Tenant;
  fetchedAt: number;
}

async function refetchKeys(deps: Deps, scope: TenantScope, now: Date): Promise<CachedKeys> {
  const found = await listPublishedKeys(deps.db, scope);
  if (found === null) throw new AppError('unknown_tenant', 'no such tenant');
  const cached = {
    keys: found.keys,
    keySet: createLocalJWKSet({ keys: found.keys }),
    tenant: found.tenant,
    fetchedAt: now.getTime(),
  };
  keyCache.set(cacheKey(scope), cached);
  return cached;
}

async function verifyWith(
  deps: Deps,
  scope: TenantScope,
  cached: CachedKeys,
  token: string,
  now: Date,
): Promise<VerifiedAccessToken> {
  scope.tenant = cached.tenant;
  const { payload } = await jwtVerify(token, cached.keySet, {
    issuer: issuerURL(deps.config, cached.tenant.slug),
    audience: audienceOf(deps, cached.tenant),
    algorithms: ['ES256', 'RS256'],
    typ: 'at+jwt',
    currentDate: now,
  });
  return payload as VerifiedAccessToken;
}

/** jose's errors become `invalid_token`, the original kept as the cause. */
function wrapped(error: unknown): unknown {
  if (error instanceof joseErrors.JOSEError) {
    return new AppError('invalid_token', 'the access token is invalid or expired', {
      cause: error,
    });
  }
  return error;
}

function tokenKeyId(token: string): string | undefined {
  try {
    const header = decodeProtectedHeader(token);
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}
