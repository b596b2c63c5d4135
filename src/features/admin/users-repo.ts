import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach } from '../audit/events.ts';
import { liveSession, timestamp, type SessionListing } from '../sessions/repo.ts';
import { issueTokenCTEs, type IssuedToken } from '../email/tokens.ts';
import type { Tenant } from '../tenants/context.ts';
import { readTenant } from '../tenants/repo.ts';
import { adminEvent, type AdminActor } from './audit.ts';

export interface AdminUser {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  hasPassword: boolean;
}

const USER_COLUMNS = sql.raw(
  'u.id as u_id, u.email as u_email, u.name as u_name, u.email_verified as u_email_verified, u.disabled_at as u_disabled_at, u.created_at as u_created_at, u.updated_at as u_updated_at, (u.password_hash is not null) as u_has_password',
);

const bool = (value: unknown): boolean => value === true || value === 't';

function readUser(row: Record<string, unknown>): AdminUser | null {
  if (row.u_id === null || row.u_id === undefined) return null;
  return {
    id: String(row.u_id),
    email: String(row.u_email),
    name: row.u_name === null || row.u_name === undefined ? null : String(row.u_name),
    emailVerified: bool(row.u_email_verified),
    disabledAt:
      row.u_disabled_at === null || row.u_disabled_at === undefined
        ? null
        : timestamp(row.u_disabled_at),
    createdAt: timestamp(row.u_created_at),
    updatedAt: timestamp(row.u_updated_at),
    hasPassword: bool(row.u_has_password),
  };
}

/** What a user-level statement found: no tenant (null), or the tenant and perhaps the user. */
export type UserLookup = { tenantId: string; user: AdminUser | null } | null;

function lookup(row: Record<string, unknown> | undefined): UserLookup {
  if (row === undefined || row.tenant_id === null || row.tenant_id === undefined) return null;
  return { tenantId: String(row.tenant_id), user: readUser(row) };
}

const tenantOf = (slug: string): SQL =>
  sql`t as (select id, slug, name, settings, cors_origins from tenants where slug = ${slug})`;

/** LIKE pattern for a search term: its wildcards escaped, matched anywhere, case-insensitively. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listUsers(
  db: Database,
  slug: string,
  query: { search: string | undefined; limit: number; offset: number },
): Promise<{ tenantId: string; users: AdminUser[]; total: number } | null> {
  const pattern =
    query.search === undefined || query.search === '' ? null : likePattern(query.search);
  const result = await db.execute(sql`
    with ${tenantOf(slug)},
    matched as (
      select u.* from users u
      where u.tenant_id = (select id from t)
        and (${pattern}::text is null or u.email_normalized like ${pattern} escape '\\' or lower(coalesce(u.name, '')) like ${pattern} escape '\\')
    ),
    page as (select ${USER_COLUMNS} from matched u order by u.created_at, u.id limit ${query.limit} offset ${query.offset})
    select (select id from t) as tenant_id, (select count(*) from matched)::int as total, page.*
    from (select 1) as one left join page on true`);
  const first = result.rows[0];
  if (first === undefined || first.tenant_id === null || first.tenant_id === undefined) return null;
  const users = result.rows.map(readUser).filter((u): u is AdminUser => u !== null);
  return { tenantId: String(first.tenant_id), users, total: Number(first.total) };
}

export async function getUser(db: Database, slug: string, userId: string): Promise<UserLookup> {
  const result = await db.execute(sql`
    select t.id as tenant_id, ${USER_COLUMNS}
    from tenants t left join users u on u.tenant_id = t.id and u.id = ${userId}::uuid
    where t.slug = ${slug}`);
  return lookup(result.rows[0]);
}

export interface NewUser {
  id: string;
  tenantId: string;
  email: string;
  emailNormalized: string;
  name: string | null;
  passwordHash: string | null;
  emailVerified: boolean;
}

/** Inserts the user and records admin.user.created; null when the email is taken. */
export async function insertUser(
  db: Database,
  user: NewUser,
  by: AdminActor,
): Promise<AdminUser | null> {
  const at = by.at.toISOString();
  const result = await db.execute(sql`
    with u as (
      insert into users (id, tenant_id, email, email_normalized, name, password_hash, email_verified, created_at, updated_at)
      values (${user.id}::uuid, ${user.tenantId}::uuid, ${user.email}, ${user.emailNormalized}, ${user.name},
        ${user.passwordHash}, ${user.emailVerified}, ${at}::timestamptz, ${at}::timestamptz)
      on conflict (tenant_id, email_normalized) do nothing
      returning *
    ),
    audit as (
      ${auditInsertEach(adminEvent(by, 'admin.user.created', user.tenantId, { type: 'user', id: null }), sql`u`, { targetId: sql`u.id` })}
    )
    select ${USER_COLUMNS} from u`);
  const row = result.rows[0];
  return row === undefined ? null : readUser(row);
}

export interface UserChange {
  email?: { email: string; normalized: string };
  name?: string | null;
  emailVerified?: boolean;
}

/**
 * The one statement shape of every single-user write: find the tenant, change the user (the
 * `change` CTE must be named u and return the user's row), record the event per changed row.
 */
async function writeUser(
  db: Database,
  slug: string,
  change: (tenant: SQL) => SQL,
  event: Parameters<typeof adminEvent>[1],
  by: AdminActor,
  extra: SQL = sql``,
  details: Record<string, unknown> = {},
): Promise<UserLookup> {
  return lookup(await writeUserRow(db, slug, change, event, by, extra, details));
}

async function writeUserRow(
  db: Database,
  slug: string,
  change: (tenant: SQL) => SQL,
  event: Parameters<typeof adminEvent>[1],
  by: AdminActor,
  extra: SQL,
  details: Record<string, unknown>,
  columns: SQL = sql``,
): Promise<Record<string, unknown> | undefined> {
  const result = await db.execute(sql`
    with ${tenantOf(slug)},
    u as (${change(sql`(select id from t)`)}),
    ${extra}
    audit as (
      ${auditInsertEach(adminEvent(by, event, null, { type: 'user', id: null }, details), sql`u`, {
        targetId: sql`u.id`,
        tenantId: sql`u.tenant_id`,
      })}
    )
    select (select id from t) as tenant_id, ${USER_COLUMNS} ${columns} from (select 1) as one left join u on true`);
  return result.rows[0];
}

/** An admin's change of a user; a new address also gets a verification mail (see the route). */
export interface UserUpdate {
  lookup: UserLookup;
  /** Set when the address changed: the tenant (to render the mail) and the token was stored. */
  verification: { tenant: Tenant } | null;
}

/**
 * Changes a user in one statement. A changed address is unverified again (unless the same patch
 * sets `email_verified`) and gets a verification token, replacing earlier ones.
 */
export async function updateUser(
  db: Database,
  slug: string,
  userId: string,
  change: UserChange,
  by: AdminActor,
  verification: IssuedToken,
): Promise<UserUpdate> {
  const at = by.at.toISOString();
  const setName = change.name !== undefined;
  const newEmail = change.email?.normalized ?? null;
  const fields = [
    ...(change.email !== undefined ? ['email'] : []),
    ...(setName ? ['name'] : []),
    ...(change.emailVerified !== undefined ? ['email_verified'] : []),
  ];
  // The row as it was (a CTE reads the statement's starting snapshot): did the address change?
  const moved = sql`select u.id, u.tenant_id, u.email_normalized from u join before b on b.id = u.id
    where b.email_normalized <> u.email_normalized and not u.email_verified`;
  const row = await writeUserRow(
    db,
    slug,
    (tenant) => sql`
      update users set
        email = coalesce(${change.email?.email ?? null}::text, email),
        email_normalized = coalesce(${newEmail}::text, email_normalized),
        name = case when ${setName}::boolean then ${change.name ?? null}::text else name end,
        email_verified = case
          when ${change.emailVerified ?? null}::boolean is not null then ${change.emailVerified ?? null}::boolean
          when ${newEmail}::text is not null and ${newEmail}::text <> email_normalized then false
          else email_verified end,
        updated_at = ${at}::timestamptz
      where tenant_id = ${tenant} and id = ${userId}::uuid
      returning *`,
    'admin.user.updated',
    by,
    sql`before as (select id, email_normalized from users where id = ${userId}::uuid),
    ${issueTokenCTEs('k', sql`(select tenant_id from (${moved}) m)`, moved, verification)},`,
    { fields },
    sql`, (select count(*)::int from k) as k_issued, (select id from t) as t_id, (select slug from t) as t_slug,
      (select name from t) as t_name, (select settings from t) as t_settings, (select cors_origins from t) as t_cors_origins`,
  );
  const tenant = row === undefined ? null : readTenant(row);
  return {
    lookup: lookup(row),
    verification: tenant !== null && Number(row?.k_issued ?? 0) > 0 ? { tenant } : null,
  };
}

/** Revokes the sessions (and their refresh tokens) of the users in CTE `u`. */
function revokeSessionsOf(at: string): SQL {
  return sql`
    revoked as (
      update sessions s set revoked_at = ${at}::timestamptz
      where s.user_id in (select id from u) and s.revoked_at is null
      returning s.id
    ),
    revoked_tokens as (
      update refresh_tokens r set revoked_at = ${at}::timestamptz
      where r.session_id in (select id from revoked) and r.revoked_at is null
    ),`;
}

/** Disabling also ends every session: a disabled account must not stay signed in. */
export function setUserDisabled(
  db: Database,
  slug: string,
  userId: string,
  disabled: boolean,
  by: AdminActor,
): Promise<UserLookup> {
  const at = by.at.toISOString();
  return writeUser(
    db,
    slug,
    (tenant) => sql`
      update users set disabled_at = case when ${disabled}::boolean then coalesce(disabled_at, ${at}::timestamptz) else null end,
        updated_at = ${at}::timestamptz
      where tenant_id = ${tenant} and id = ${userId}::uuid
      returning *`,
    disabled ? 'admin.user.disabled' : 'admin.user.enabled',
    by,
    disabled ? revokeSessionsOf(at) : sql``,
  );
}

/** New password hash; every session of the user revoked. */
export function setUserPassword(
  db: Database,
  slug: string,
  userId: string,
  passwordHash: string,
  by: AdminActor,
): Promise<UserLookup> {
  const at = by.at.toISOString();
  return writeUser(
    db,
    slug,
    (tenant) => sql`
      update users set password_hash = ${passwordHash}, updated_at = ${at}::timestamptz
      where tenant_id = ${tenant} and id = ${userId}::uuid
      returning *`,
    'admin.user.password_set',
    by,
    revokeSessionsOf(at),
  );
}

/** Revokes every session of the user; the user row is only read (u is a select here). */
export async function revokeAllUserSessions(
  db: Database,
  slug: string,
  userId: string,
  by: AdminActor,
): Promise<{ lookup: UserLookup; revoked: number }> {
  const at = by.at.toISOString();
  const result = await db.execute(sql`
    with ${tenantOf(slug)},
    u as (select * from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    ${revokeSessionsOf(at)}
    audit as (
      ${auditInsertEach(
        adminEvent(by, 'admin.user.sessions_revoked', null, { type: 'user', id: null }),
        sql`u`,
        {
          targetId: sql`u.id`,
          tenantId: sql`u.tenant_id`,
        },
      )}
    )
    select (select id from t) as tenant_id, (select count(*) from revoked)::int as revoked_count, ${USER_COLUMNS}
    from (select 1) as one left join u on true`);
  const row = result.rows[0];
  return { lookup: lookup(row), revoked: Number(row?.revoked_count ?? 0) };
}

export async function listUserSessionsBySlug(
  db: Database,
  slug: string,
  userId: string,
  now: Date,
): Promise<{ lookup: UserLookup; sessions: SessionListing[] }> {
  const result = await db.execute(sql`
    select t.id as tenant_id, ${USER_COLUMNS}, s.id as s_id, s.created_at as s_created_at, s.last_seen_at as s_last_seen_at,
      s.expires_at as s_expires_at, s.idle_expires_at as s_idle_expires_at, s.ip as s_ip, s.user_agent as s_user_agent
    from tenants t
    left join users u on u.tenant_id = t.id and u.id = ${userId}::uuid
    left join sessions s on s.user_id = u.id and ${liveSession(now)}
    where t.slug = ${slug}
    order by s.created_at desc, s.id`);
  const sessions = result.rows
    .filter((row) => row.s_id !== null && row.s_id !== undefined)
    .map((row) => ({
      id: String(row.s_id),
      createdAt: timestamp(row.s_created_at),
      lastSeenAt: timestamp(row.s_last_seen_at),
      expiresAt: timestamp(row.s_expires_at),
      idleExpiresAt: timestamp(row.s_idle_expires_at),
      ip: row.s_ip === null || row.s_ip === undefined ? null : String(row.s_ip),
      userAgent:
        row.s_user_agent === null || row.s_user_agent === undefined
          ? null
          : String(row.s_user_agent),
    }));
  return { lookup: lookup(result.rows[0]), sessions };
}
