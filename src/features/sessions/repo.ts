import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach, type ActorType } from '../audit/events.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { ACCESS_CLAIM_COLUMNS_SQL, readAccessClaims } from '../rbac/claims.ts';

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  createdAt: Date;
  passwordHash: string | null;
  /** Effective roles (direct and through groups), sorted: the access token's `roles`. */
  roles: string[];
  /** Claims the tenant's claim mappers derive from the user's attributes. */
  mappedClaims: Record<string, string>;
}

export interface ActiveSession {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  expiresAt: Date;
  activeOrganizationId: string | null;
  role: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface ActiveKey {
  kid: string;
  alg: string;
  privateKey: string;
}

export interface LoadedSession {
  tenant: Tenant;
  session: ActiveSession | null;
  user: SessionUser | null;
  key: ActiveKey | null;
}

/** Sessions are touched at most this often: a write per request would double the cost. */
const TOUCH_INTERVAL_SECONDS = 60;

export function timestamp(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function optionalText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function readKey(row: Record<string, unknown>): ActiveKey | null {
  if (row.k_kid === null || row.k_kid === undefined) return null;
  return { kid: String(row.k_kid), alg: String(row.k_alg), privateKey: String(row.k_private_key) };
}

/** Reads the s_*, u_*, m_role and rbac_* columns of `SESSION_COLUMNS`. */
export function readSession(
  row: Record<string, unknown>,
): { session: ActiveSession; user: SessionUser } | null {
  if (row.s_id === null || row.s_id === undefined || row.u_id === null || row.u_id === undefined)
    return null;
  const access = readAccessClaims(row);
  return {
    session: {
      id: String(row.s_id),
      userId: String(row.u_id),
      createdAt: timestamp(row.s_created_at),
      lastSeenAt: timestamp(row.s_last_seen_at),
      idleExpiresAt: timestamp(row.s_idle_expires_at),
      expiresAt: timestamp(row.s_expires_at),
      activeOrganizationId: optionalText(row.s_org),
      role: optionalText(row.m_role),
      ip: optionalText(row.s_ip),
      userAgent: optionalText(row.s_user_agent),
    },
    user: {
      id: String(row.u_id),
      email: String(row.u_email),
      name: optionalText(row.u_name),
      emailVerified: row.u_email_verified === true || row.u_email_verified === 't',
      createdAt: timestamp(row.u_created_at),
      passwordHash: optionalText(row.u_password_hash),
      roles: access.roles,
      mappedClaims: access.claims,
    },
  };
}

export const SESSION_COLUMNS = sql.raw(
  [
    's.id as s_id, s.created_at as s_created_at, s.last_seen_at as s_last_seen_at',
    's.idle_expires_at as s_idle_expires_at, s.expires_at as s_expires_at',
    's.active_organization_id as s_org, s.ip as s_ip, s.user_agent as s_user_agent',
    'u.id as u_id, u.email as u_email, u.name as u_name, u.email_verified as u_email_verified',
    'u.created_at as u_created_at, u.password_hash as u_password_hash, m.role as m_role',
    // Roles and mapped claims ride along as correlated subqueries: no round trip of their own.
    ACCESS_CLAIM_COLUMNS_SQL,
  ].join(', '),
);

const KEY_COLUMNS = sql.raw('k.kid as k_kid, k.alg as k_alg, k.private_key as k_private_key');

/** Live sessions only: not revoked, inside both lifetimes, of an enabled user. */
export function liveSession(now: Date): SQL {
  const at = now.toISOString();
  return sql`s.revoked_at is null and s.expires_at > ${at}::timestamptz and s.idle_expires_at > ${at}::timestamptz`;
}

/**
 * The session check: tenant, session, user, role in the active organization and the tenant's
 * active signing key, in one round trip, touching last-seen (and the idle expiry) when stale.
 */
export async function loadSession(
  db: Database,
  scope: TenantScope,
  match: { tokenHash: string } | { sessionId: string },
  now: Date,
): Promise<LoadedSession | null> {
  const at = now.toISOString();
  // By the cookie's hash, or (bearer access token, already verified) by the token's `sid`.
  const matched =
    'tokenHash' in match
      ? sql`s.token_hash = ${match.tokenHash}`
      : sql`s.id = ${match.sessionId}::uuid`;
  const result = await db.execute(sql`
    with found as (
      select ${TENANT_COLUMNS}, ${SESSION_COLUMNS}, ${KEY_COLUMNS}
      from tenants t
      left join sessions s on s.tenant_id = t.id and ${matched} and ${liveSession(now)}
      left join users u on u.id = s.user_id and u.disabled_at is null
      left join memberships m on m.organization_id = s.active_organization_id and m.user_id = s.user_id
      left join signing_keys k on k.tenant_id = t.id and k.status = 'active'
      where ${tenantMatch(scope.ref)}
    ),
    touched as (
      update sessions set last_seen_at = ${at}::timestamptz,
        idle_expires_at = least(${at}::timestamptz + make_interval(secs => idle_ttl_seconds), expires_at)
      where id = (select s_id from found where u_id is not null)
        and last_seen_at < ${at}::timestamptz - make_interval(secs => ${TOUCH_INTERVAL_SECONDS})
      returning id
    )
    select * from found`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const found = readSession(row);
  return { tenant, session: found?.session ?? null, user: found?.user ?? null, key: readKey(row) };
}

export interface NewSession {
  id: string;
  tenantId: string;
  userId: string;
  tokenHash: string;
  ip: string | null;
  userAgent: string | null;
  idleTTLSeconds: number;
  now: Date;
  idleExpiresAt: Date;
  expiresAt: Date;
  /** RFC 8176 authentication methods (see `Amr` in service.ts): the ID token's `amr`. */
  amr: readonly string[];
}

/** Columns and values of a session insert, for statements that create one among other writes. */
export function sessionInsertValues(session: NewSession, userId: SQL, organizationId: SQL): SQL {
  const at = session.now.toISOString();
  return sql`select ${session.id}::uuid, ${session.tenantId}::uuid, ${userId}, ${session.tokenHash}, ${organizationId},
    ${session.ip}, ${session.userAgent}, ${session.idleTTLSeconds}, ${at}::timestamptz, ${at}::timestamptz,
    ${session.idleExpiresAt.toISOString()}::timestamptz, ${session.expiresAt.toISOString()}::timestamptz,
    string_to_array(${session.amr.join(',')}::text, ',')::text[]`;
}

export const SESSION_INSERT_COLUMNS = sql.raw(
  'sessions (id, tenant_id, user_id, token_hash, active_organization_id, ip, user_agent, idle_ttl_seconds, created_at, last_seen_at, idle_expires_at, expires_at, amr)',
);

export interface LogoutResult {
  tenant: Tenant;
  revoked: boolean;
  originAllowed: boolean;
}

/**
 * Logout in one round trip: revokes the session and its refresh tokens, but only if
 * `originToCheck` (an Origin not already known to be allowed) is among the tenant's origins.
 */
export async function revokeSessionByToken(
  db: Database,
  scope: TenantScope,
  tokenHash: string,
  originToCheck: string | null,
  now: Date,
  client: { ip: string | null; userAgent: string | null },
): Promise<LogoutResult | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(scope.ref)}),
    allowed as (select (${originToCheck}::text is null or ${originToCheck}::text = any(t.cors_origins)) as ok from t),
    revoked as (
      update sessions s set revoked_at = ${at}::timestamptz
      from t, allowed
      where allowed.ok and s.tenant_id = t.id and s.token_hash = ${tokenHash} and s.revoked_at is null
      returning s.id, s.user_id, s.tenant_id
    ),
    tokens as (
      update refresh_tokens r set revoked_at = ${at}::timestamptz
      where r.session_id in (select id from revoked) and r.revoked_at is null
    ),
    audit as (
      ${auditInsertEach(
        {
          type: 'security.session.revoked',
          actor: { type: 'user' },
          target: { type: 'session', id: null },
          ip: client.ip,
          userAgent: client.userAgent,
          details: { reason: 'logout' },
          at: now,
        },
        sql`revoked`,
        {
          targetId: sql`revoked.id`,
          tenantId: sql`revoked.tenant_id`,
          actorId: sql`revoked.user_id`,
        },
      )}
    )
    select ${TENANT_COLUMNS}, (select ok from allowed) as origin_allowed, (select count(*) from revoked)::int as revoked
    from t`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return {
    tenant,
    revoked: Number(row.revoked) > 0,
    originAllowed: row.origin_allowed === true || row.origin_allowed === 't',
  };
}

export interface SessionListing {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  idleExpiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export async function listUserSessions(
  db: Database,
  tenantId: string,
  userId: string,
  now: Date,
): Promise<SessionListing[]> {
  const result = await db.execute(sql`
    select s.id, s.created_at, s.last_seen_at, s.expires_at, s.idle_expires_at, s.ip, s.user_agent
    from sessions s
    where s.tenant_id = ${tenantId} and s.user_id = ${userId} and ${liveSession(now)}
    order by s.created_at desc, s.id`);
  return result.rows.map((row) => ({
    id: String(row.id),
    createdAt: timestamp(row.created_at),
    lastSeenAt: timestamp(row.last_seen_at),
    expiresAt: timestamp(row.expires_at),
    idleExpiresAt: timestamp(row.idle_expires_at),
    ip: optionalText(row.ip),
    userAgent: optionalText(row.user_agent),
  }));
}

export interface RevocationAudit {
  actor: { type: ActorType; id: string | null };
  ip: string | null;
  userAgent: string | null;
  reason: string;
}

/** Revokes the user's sessions matching `which` (and their refresh tokens), each audited. */
export async function revokeUserSessions(
  db: Database,
  tenantId: string,
  userId: string,
  which: { only: string } | { except: string } | 'all',
  now: Date,
  audit: RevocationAudit,
): Promise<number> {
  const at = now.toISOString();
  const filter =
    which === 'all'
      ? sql`true`
      : 'only' in which
        ? sql`s.id = ${which.only}::uuid`
        : sql`s.id <> ${which.except}::uuid`;
  const result = await db.execute(sql`
    with revoked as (
      update sessions s set revoked_at = ${at}::timestamptz
      where s.tenant_id = ${tenantId} and s.user_id = ${userId} and s.revoked_at is null and ${filter}
      returning s.id
    ),
    tokens as (
      update refresh_tokens r set revoked_at = ${at}::timestamptz
      where r.session_id in (select id from revoked) and r.revoked_at is null
    ),
    audit as (
      ${auditInsertEach(
        {
          tenantId,
          type: 'security.session.revoked',
          actor: audit.actor,
          target: { type: 'session', id: null },
          ip: audit.ip,
          userAgent: audit.userAgent,
          details: { reason: audit.reason, user_id: userId },
          at: now,
        },
        sql`revoked`,
        { targetId: sql`revoked.id` },
      )}
    )
    select count(*)::int as revoked from revoked`);
  return Number(result.rows[0]?.revoked ?? 0);
}
