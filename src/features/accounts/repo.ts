import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, auditInsertEach } from '../audit/events.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { issueTokenCTEs, type IssuedToken } from '../email/tokens.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import {
  SESSION_INSERT_COLUMNS,
  sessionInsertValues,
  timestamp,
  type NewSession,
} from '../sessions/repo.ts';

export interface LoginCandidate {
  tenant: Tenant;
  user: {
    id: string;
    email: string;
    name: string | null;
    emailVerified: boolean;
    createdAt: Date;
    passwordHash: string | null;
    disabled: boolean;
    /** Until when a lockout holds the account, if one was ever set (it may have passed). */
    lockedUntil: Date | null;
  } | null;
}

/** Tenant and (if any) the account for an email, with its lockout, in one round trip. */
export async function findLoginCandidate(
  db: Database,
  scope: TenantScope,
  emailNormalized: string,
): Promise<LoginCandidate | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, u.id as u_id, u.email as u_email, u.name as u_name, u.email_verified as u_email_verified,
      u.created_at as u_created_at, u.password_hash as u_password_hash, u.disabled_at as u_disabled_at,
      f.locked_until as u_locked_until
    from tenants t
    left join users u on u.tenant_id = t.id and u.email_normalized = ${emailNormalized}
    left join login_failures f on f.user_id = u.id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return {
    tenant,
    user:
      row.u_id === null || row.u_id === undefined
        ? null
        : {
            id: String(row.u_id),
            email: String(row.u_email),
            name: row.u_name === null ? null : String(row.u_name),
            emailVerified: row.u_email_verified === true || row.u_email_verified === 't',
            createdAt: timestamp(row.u_created_at),
            passwordHash: row.u_password_hash === null ? null : String(row.u_password_hash),
            disabled: row.u_disabled_at !== null && row.u_disabled_at !== undefined,
            lockedUntil:
              row.u_locked_until === null || row.u_locked_until === undefined
                ? null
                : timestamp(row.u_locked_until),
          },
  };
}

export interface NewAccount {
  userId: string;
  email: string;
  emailNormalized: string;
  name: string | null;
  passwordHash: string;
  organization: { id: string; name: string } | null;
  session: NewSession;
  /** false: the tenant requires a verified address first; the row is prepared but not stored. */
  startSession: boolean;
  /** The verification token mailed to the new address. */
  verification: IssuedToken;
}

/**
 * Creates user, optional organization with the user as owner, and the first session, in one
 * statement. The unique (tenant, email) index decides concurrent sign-ups: the loser's insert
 * does nothing, so it creates nothing else either, and null comes back.
 */
export async function insertAccount(
  db: Database,
  account: NewAccount,
): Promise<{ createdAt: Date } | null> {
  const tenantId = account.session.tenantId;
  const org = account.organization;
  const result = await db.execute(sql`
    with u as (
      insert into users (id, tenant_id, email, email_normalized, name, password_hash, created_at, updated_at)
      values (${account.userId}::uuid, ${tenantId}::uuid, ${account.email}, ${account.emailNormalized}, ${account.name},
        ${account.passwordHash}, ${account.session.now.toISOString()}::timestamptz, ${account.session.now.toISOString()}::timestamptz)
      on conflict (tenant_id, email_normalized) do nothing
      returning id, created_at
    ),
    o as (
      insert into organizations (id, tenant_id, name)
      select ${org?.id ?? null}::uuid, ${tenantId}::uuid, ${org?.name ?? null}::text from u where ${org?.id ?? null}::uuid is not null
      returning id
    ),
    m as (
      insert into memberships (tenant_id, organization_id, user_id, role)
      select ${tenantId}::uuid, o.id, u.id, 'owner' from o, u
    ),
    s as (
      insert into ${SESSION_INSERT_COLUMNS}
      ${sessionInsertValues(account.session, sql`u.id`, sql`(select id from o)`)} from u
      where ${account.startSession}::boolean
      returning id
    ),
    ${issueTokenCTEs('k', tenantId, sql`select id, ${account.emailNormalized}::text as email_normalized from u`, account.verification)},
    audit as (
      ${auditInsert(
        {
          tenantId,
          type: 'security.user.registered',
          actor: { type: 'user', id: account.userId },
          target: { type: 'user', id: account.userId },
          ip: account.session.ip,
          userAgent: account.session.userAgent,
          details: {
            organization_id: org?.id ?? null,
            session_id: account.startSession ? account.session.id : null,
          },
          at: account.session.now,
        },
        { when: sql`exists (select 1 from u)` },
      )}
    )
    select u.created_at from u`);
  const row = result.rows[0];
  return row === undefined ? null : { createdAt: timestamp(row.created_at) };
}

/** Sets a new password hash and revokes every other session (and their refresh tokens). */
export async function replacePassword(
  db: Database,
  tenantId: string,
  userId: string,
  passwordHash: string,
  keepSessionId: string,
  now: Date,
  client: { ip: string | null; userAgent: string | null },
): Promise<void> {
  const event = {
    tenantId,
    actor: { type: 'user' as const, id: userId },
    ip: client.ip,
    userAgent: client.userAgent,
    at: now,
  };
  const at = now.toISOString();
  await db.execute(sql`
    with updated as (
      update users set password_hash = ${passwordHash}, updated_at = ${at}::timestamptz
      where id = ${userId}::uuid and tenant_id = ${tenantId}::uuid
      returning id
    ),
    revoked as (
      update sessions s set revoked_at = ${at}::timestamptz
      where s.user_id in (select id from updated) and s.id <> ${keepSessionId}::uuid and s.revoked_at is null
      returning s.id
    ),
    tokens as (
      update refresh_tokens r set revoked_at = ${at}::timestamptz
      where r.session_id in (select id from revoked) and r.revoked_at is null
    ),
    changed_event as (
      ${auditInsert(
        { ...event, type: 'security.password.changed', target: { type: 'user', id: userId } },
        { when: sql`exists (select 1 from updated)` },
      )}
    ),
    revoked_events as (
      ${auditInsertEach(
        {
          ...event,
          type: 'security.session.revoked',
          target: { type: 'session', id: null },
          details: { reason: 'password_changed' },
        },
        sql`revoked`,
        { targetId: sql`revoked.id` },
      )}
    )
    select count(*) from revoked`);
}

export interface Membership {
  organizationId: string;
  name: string;
  role: string;
  createdAt: Date;
}

export async function listMemberships(
  db: Database,
  tenantId: string,
  userId: string,
): Promise<Membership[]> {
  const result = await db.execute(sql`
    select o.id, o.name, m.role, m.created_at
    from memberships m join organizations o on o.id = m.organization_id
    where m.tenant_id = ${tenantId}::uuid and m.user_id = ${userId}::uuid
    order by m.created_at, o.id`);
  return result.rows.map((row) => ({
    organizationId: String(row.id),
    name: String(row.name),
    role: String(row.role),
    createdAt: timestamp(row.created_at),
  }));
}

/** Switches the session's organization if the user is a member; returns the role, or null. */
export async function switchOrganization(
  db: Database,
  sessionId: string,
  userId: string,
  organizationId: string,
): Promise<string | null> {
  const result = await db.execute(sql`
    with m as (
      select role from memberships where user_id = ${userId}::uuid and organization_id = ${organizationId}::uuid
    ),
    updated as (
      update sessions set active_organization_id = ${organizationId}::uuid
      where id = ${sessionId}::uuid and exists (select 1 from m)
    )
    select role from m`);
  const row = result.rows[0];
  return row === undefined ? null : String(row.role);
}
