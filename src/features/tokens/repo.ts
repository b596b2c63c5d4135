import { sql, type SQL } from 'drizzle-orm';
import type { JWK } from 'jose';
import type { Database } from '../../db/client.ts';
import { auditInsertEach } from '../audit/events.ts';
import type { Tenant, TenantRef, TenantScope } from '../tenants/context.ts';
import {
  TENANT_COLUMNS,
  parseJSON,
  scopeTenant,
  settingSQL,
  tenantMatch,
} from '../tenants/repo.ts';
import {
  SESSION_COLUMNS,
  liveSession,
  readKey,
  readSession,
  timestamp,
  type ActiveKey,
  type ActiveSession,
  type SessionUser,
} from '../sessions/repo.ts';

export interface NewRefreshToken {
  id: string;
  tokenHash: string;
  now: Date;
}

export interface Rotation {
  tenant: Tenant;
  /** Present when the presented token rotated into `next`. */
  rotated: {
    session: ActiveSession;
    user: SessionUser;
    key: ActiveKey | null;
    expiresAt: Date;
  } | null;
}

/**
 * Whether a rotated token may rotate again: only with a grace set, and only within it. With no
 * grace, never: a request that read its clock before a concurrent rotation committed would
 * otherwise see `rotated_at` in its future and pass a `rotated_at > now - 0` test.
 */
function withinGrace(at: string): SQL {
  const grace = settingSQL('refreshReuseGraceSeconds');
  return sql`(${grace} > 0 and r.rotated_at > ${at}::timestamptz - make_interval(secs => ${grace}))`;
}

/** What the first look at a presented refresh token found. */
export type PresentedToken =
  /** Unknown, revoked or expired: refused with nothing written. */
  | { state: 'invalid' }
  /** Rotated before, outside the tenant's grace: a replay; its family is revoked. */
  | { state: 'reused'; sessionId: string }
  /** May rotate (unless a concurrent request rotates it first). */
  | { state: 'rotatable'; sessionId: string };

/**
 * One read: the tenant and what the presented token is. It names the token's session before
 * anything is written, so the grant is limited per session (with the tenant's own limits) and a
 * refused request rotates nothing.
 */
export async function findPresentedToken(
  db: Database,
  scope: TenantScope,
  presentedHash: string,
  now: Date,
): Promise<{ tenant: Tenant; token: PresentedToken } | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, r.session_id as r_session_id,
      case
        when r.id is null then 'invalid'
        when r.rotated_at is not null and r.revoked_at is null and not ${withinGrace(at)} then 'reused'
        when r.revoked_at is not null or r.expires_at <= ${at}::timestamptz then 'invalid'
        else 'rotatable'
      end as r_state
    from tenants t
    left join refresh_tokens r on r.tenant_id = t.id and r.token_hash = ${presentedHash}
      -- An OIDC client's token (client_id set) belongs to /oauth2/token, never to this API.
      and r.client_id is null
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const state = String(row.r_state);
  const token: PresentedToken =
    state === 'reused' || state === 'rotatable'
      ? { state, sessionId: String(row.r_session_id) }
      : { state: 'invalid' };
  return { tenant, token };
}

/**
 * Rotates a refresh token in one statement. The UPDATE's row lock serialises concurrent
 * presentations of one token: the first marks it rotated, the rest no longer match and get
 * nothing. Within the tenant's grace a rotated token rotates again (concurrent tabs).
 */
export async function rotateRefreshToken(
  db: Database,
  scope: TenantScope,
  presentedHash: string,
  next: NewRefreshToken,
): Promise<Rotation | null> {
  const at = next.now.toISOString();
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(scope.ref)}),
    old as (
      update refresh_tokens r set rotated_at = coalesce(r.rotated_at, ${at}::timestamptz)
      from t
      where r.tenant_id = t.id and r.token_hash = ${presentedHash} and r.client_id is null and r.revoked_at is null
        and r.expires_at > ${at}::timestamptz
        and (r.rotated_at is null or ${withinGrace(at)})
      returning r.id, r.session_id
    ),
    live as (
      select ${SESSION_COLUMNS}, s.tenant_id
      from old
      join sessions s on s.id = old.session_id and ${liveSession(next.now)}
      join users u on u.id = s.user_id and u.disabled_at is null
      left join memberships m on m.organization_id = s.active_organization_id and m.user_id = s.user_id
    ),
    inserted as (
      insert into refresh_tokens (id, tenant_id, session_id, token_hash, parent_id, created_at, expires_at)
      select ${next.id}::uuid, t.id, live.s_id, ${next.tokenHash}, (select id from old), ${at}::timestamptz,
        least(${at}::timestamptz + make_interval(secs => ${settingSQL('refreshTokenTTLSeconds')}), live.s_expires_at)
      from t, live
      returning expires_at
    )
    select ${TENANT_COLUMNS}, live.*, k.kid as k_kid, k.alg as k_alg, k.private_key as k_private_key,
      (select expires_at from inserted) as next_expires_at
    from t
    left join live on true
    left join signing_keys k on k.tenant_id = t.id and k.status = 'active'`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const found = readSession(row);
  const rotated =
    found === null || row.next_expires_at === null || row.next_expires_at === undefined
      ? null
      : { ...found, key: readKey(row), expiresAt: timestamp(row.next_expires_at) };
  return { tenant, rotated };
}

/**
 * Called when a presented token did not rotate. If it had already been rotated (outside the
 * grace) it was stolen or replayed: the whole family — the session and every refresh token of
 * it — is revoked. Returns the revoked session's id, or null when the token was simply unknown,
 * expired or revoked.
 */
export async function revokeFamilyOnReuse(
  db: Database,
  tenantId: string,
  presentedHash: string,
  now: Date,
  client: { ip: string | null; userAgent: string | null },
): Promise<string | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with reused as (
      select session_id from refresh_tokens
      where tenant_id = ${tenantId}::uuid and token_hash = ${presentedHash} and client_id is null
        and rotated_at is not null and revoked_at is null
    ),
    sessions_revoked as (
      update sessions set revoked_at = ${at}::timestamptz
      where id in (select session_id from reused) and revoked_at is null
    ),
    tokens_revoked as (
      update refresh_tokens set revoked_at = ${at}::timestamptz
      where session_id in (select session_id from reused) and revoked_at is null
    ),
    audit as (
      ${auditInsertEach(
        {
          tenantId,
          type: 'security.token.reuse_detected',
          actor: { type: 'anonymous' },
          target: { type: 'session', id: null },
          ip: client.ip,
          userAgent: client.userAgent,
          details: { action: 'family_revoked' },
          at: now,
        },
        sql`reused`,
        { targetId: sql`reused.session_id` },
      )}
    )
    select session_id from reused`);
  const row = result.rows[0];
  return row === undefined ? null : String(row.session_id);
}

export async function insertRefreshToken(
  db: Database,
  tenantId: string,
  sessionId: string,
  token: NewRefreshToken,
  expiresAt: Date,
): Promise<void> {
  await db.execute(sql`
    insert into refresh_tokens (id, tenant_id, session_id, token_hash, created_at, expires_at)
    values (${token.id}::uuid, ${tenantId}::uuid, ${sessionId}::uuid, ${token.tokenHash},
      ${token.now.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz)`);
}

export interface PublishedKeys {
  tenant: Tenant;
  keys: JWK[];
}

/** Public keys a verifier should accept: the active one and those kept published after rotation. */
export async function listPublishedKeys(
  db: Database,
  scope: TenantScope | { ref: TenantRef; tenant: null },
): Promise<PublishedKeys | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, k.public_jwk
    from tenants t
    left join signing_keys k on k.tenant_id = t.id and k.status in ('active', 'published')
    where ${tenantMatch(scope.ref)}
    order by k.created_at desc`);
  const first = result.rows[0];
  const tenant = scopeTenant(scope as TenantScope, first);
  if (first === undefined || tenant === null) return null;
  const keys = result.rows
    .filter((row) => row.public_jwk !== null && row.public_jwk !== undefined)
    .map((row) => parseJSON(row.public_jwk) as JWK);
  return { tenant, keys };
}
