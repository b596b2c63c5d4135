import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import {
  listUserSessions,
  loadSession,
  revokeSessionByToken,
  revokeUserSessions,
  type ActiveKey,
  type ActiveSession,
  type NewSession,
  type RevocationAudit,
  type SessionListing,
  type SessionUser,
} from './repo.ts';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface Authenticated {
  tenant: Tenant;
  session: ActiveSession;
  user: SessionUser;
  key: ActiveKey | null;
}

export interface SessionStart {
  token: string;
  record: NewSession;
}

/**
 * How a session's user proved who they are, as RFC 8176 `amr` values (the ID token's `amr`; its
 * `acr` is '2' when `mfa` is present). The email code is `otp`: RFC 8176 has no email value.
 */
export const AMR = {
  password: ['pwd'],
  emailCode: ['otp'],
  passkey: ['hwk'],
  /** A passkey that verified the user (PIN or biometric): the service counts it as two factors. */
  passkeyVerified: ['hwk', 'mfa'],
  passwordAndTOTP: ['pwd', 'otp', 'mfa'],
  passwordAndRecoveryCode: ['pwd', 'kba', 'mfa'],
  passwordAndPasskey: ['pwd', 'hwk', 'mfa'],
  /** Signed in through an upstream identity provider (src/features/federation); RFC 8176 has no value for it. */
  federated: ['fed'],
} as const satisfies Record<string, readonly string[]>;

export type Amr = (typeof AMR)[keyof typeof AMR];

/** A new session's secret (32 random bytes) and the row to store: only the token's hash. */
export async function startSession(
  deps: Deps,
  tenant: Tenant,
  userId: string,
  client: ClientInfo,
  amr: Amr,
): Promise<SessionStart> {
  const now = deps.clock.now();
  const token = encodeBase64url(deps.random.bytes(32));
  const { sessionIdleTTLSeconds: idle, sessionAbsoluteTTLSeconds: absolute } = tenant.settings;
  const expiresAt = new Date(now.getTime() + absolute * 1000);
  return {
    token,
    record: {
      id: crypto.randomUUID(),
      tenantId: tenant.id,
      userId,
      tokenHash: await hashToken(token),
      ip: client.ip,
      userAgent: client.userAgent,
      idleTTLSeconds: idle,
      now,
      idleExpiresAt: new Date(Math.min(now.getTime() + idle * 1000, expiresAt.getTime())),
      expiresAt,
      amr,
    },
  };
}

/**
 * The session check: one round trip; 404 for an unknown tenant, 401 without a live session. By
 * the cookie's token, or by the session id of an access token the caller has verified.
 */
export async function authenticate(
  deps: Deps,
  scope: TenantScope,
  token: string | undefined | { sessionId: string },
): Promise<Authenticated> {
  // No cookie still loads the tenant, so even the 401 carries the tenant's CORS headers.
  const loaded = await loadSession(
    deps.db,
    scope,
    typeof token === 'object'
      ? token
      : { tokenHash: token === undefined ? '' : await hashToken(token) },
    deps.clock.now(),
  );
  if (loaded === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (loaded.session === null || loaded.user === null) {
    throw new AppError('unauthorized', 'no valid session');
  }
  return { tenant: loaded.tenant, session: loaded.session, user: loaded.user, key: loaded.key };
}

/** Logout: one round trip. The origin check happens inside it (see revokeSessionByToken). */
export async function logout(
  deps: Deps,
  scope: TenantScope,
  token: string | undefined,
  originToCheck: string | null,
  client: ClientInfo,
): Promise<Tenant> {
  const result = await revokeSessionByToken(
    deps.db,
    scope,
    token === undefined ? '' : await hashToken(token),
    originToCheck,
    deps.clock.now(),
    client,
  );
  if (result === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (!result.originAllowed)
    throw new AppError('origin_not_allowed', 'this origin may not act with the session cookie');
  return result.tenant;
}

export function listSessions(deps: Deps, auth: Authenticated): Promise<SessionListing[]> {
  return listUserSessions(deps.db, auth.tenant.id, auth.user.id, deps.clock.now());
}

function selfRevocation(auth: Authenticated, client: ClientInfo, reason: string): RevocationAudit {
  return {
    actor: { type: 'user', id: auth.user.id },
    ip: client.ip,
    userAgent: client.userAgent,
    reason,
  };
}

export async function revokeSession(
  deps: Deps,
  auth: Authenticated,
  sessionId: string,
  client: ClientInfo,
): Promise<void> {
  const count = await revokeUserSessions(
    deps.db,
    auth.tenant.id,
    auth.user.id,
    { only: sessionId },
    deps.clock.now(),
    selfRevocation(auth, client, 'revoked_by_user'),
  );
  if (count === 0) throw new AppError('not_found', 'no such session');
}

export function revokeOtherSessions(
  deps: Deps,
  auth: Authenticated,
  client: ClientInfo,
): Promise<number> {
  return revokeUserSessions(
    deps.db,
    auth.tenant.id,
    auth.user.id,
    { except: auth.session.id },
    deps.clock.now(),
    selfRevocation(auth, client, 'revoke_others'),
  );
}
