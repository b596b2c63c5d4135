import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, auditInsertEach, type AuditEvent } from '../audit/events.ts';
import { timestamp } from '../sessions/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { issueTokenCTEs, type IssuedToken } from './tokens.ts';

function userEvent(
  tenantId: string,
  userId: string | null,
  type: AuditEvent['type'],
  client: ClientInfo,
  at: Date,
  details: Record<string, unknown> = {},
): AuditEvent {
  return {
    tenantId,
    type,
    actor: userId === null ? { type: 'anonymous' } : { type: 'user', id: userId },
    target: { type: 'user', id: userId },
    ip: client.ip,
    userAgent: client.userAgent,
    details,
    at,
  };
}

/**
 * Verifies an address in one statement: the token (this tenant's, `verify_email`, unused,
 * unexpired, for the address the user still has, of an enabled user) is used up and the user
 * marked verified, with the audit event. A refused token writes nothing. Null: no such tenant.
 */
export async function confirmEmailToken(
  db: Database,
  scope: TenantScope,
  tokenHash: string,
  now: Date,
  client: ClientInfo,
): Promise<{ tenant: Tenant; userId: string | null } | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(scope.ref)}),
    k as (
      update email_tokens k set used_at = ${at}::timestamptz
      from users u
      where k.tenant_id = (select id from t) and k.token_hash = ${tokenHash} and k.purpose = 'verify_email'
        and k.used_at is null and k.expires_at > ${at}::timestamptz
        and u.id = k.user_id and u.email_normalized = k.email and u.disabled_at is null
      returning k.user_id, k.tenant_id
    ),
    v as (
      update users set email_verified = true, updated_at = ${at}::timestamptz
      where id in (select user_id from k) returning id, tenant_id
    ),
    audit as (
      ${auditInsertEach(
        {
          type: 'security.email.verified',
          actor: { type: 'user' },
          target: { type: 'user', id: null },
          ip: client.ip,
          userAgent: client.userAgent,
          at: now,
        },
        sql`v`,
        { targetId: sql`v.id`, actorId: sql`v.id`, tenantId: sql`v.tenant_id` },
      )}
    )
    select ${TENANT_COLUMNS}, (select id from v) as verified_user from t`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const userId = row.verified_user;
  return { tenant, userId: userId === null || userId === undefined ? null : String(userId) };
}

/**
 * Issues a verification token for a user whose address is not yet verified (resend, or a sign-in
 * refused for it), with its audit event. False: already verified, disabled or gone.
 */
export async function issueVerification(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    issued: IssuedToken;
    client: ClientInfo;
    reason: 'resend' | 'sign_in_refused';
  },
): Promise<boolean> {
  const { tenantId, userId, issued, client } = input;
  const user = sql`select id, email_normalized from users where id = ${userId}::uuid
    and tenant_id = ${tenantId}::uuid and not email_verified and disabled_at is null`;
  const result = await db.execute(sql`
    with ${issueTokenCTEs('k', tenantId, user, issued)},
    audit as (${auditInsert(
      userEvent(tenantId, userId, 'security.email.verification_sent', client, issued.now, {
        reason: input.reason,
      }),
      { when: sql`exists (select 1 from k)` },
    )})
    select count(*)::int as n from k`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}

/**
 * A password-reset request's one write, the same shape for every address: for a known, enabled
 * user the token (replacing earlier ones) and the event; for anyone else the event alone.
 */
export async function recordResetRequest(
  db: Database,
  input: {
    tenantId: string;
    userId: string | null;
    issued: IssuedToken;
    client: ClientInfo;
    outcome: 'issued' | 'unknown_account' | 'disabled';
  },
): Promise<void> {
  const { tenantId, issued, client } = input;
  const userId = input.outcome === 'issued' ? input.userId : null;
  const user = sql`select id, email_normalized from users where id = ${userId}::uuid
    and tenant_id = ${tenantId}::uuid and disabled_at is null`;
  await db.execute(sql`
    with ${issueTokenCTEs('k', tenantId, user, issued)},
    audit as (${auditInsert(
      userEvent(tenantId, input.userId, 'security.password.reset_requested', client, issued.now, {
        outcome: input.outcome,
      }),
    )})
    select count(*)::int as n from k`);
}

export interface LoadedResetToken {
  tenant: Tenant;
  token: { id: string; userId: string; expiresAt: Date; used: boolean } | null;
  /** The user, when the token is for the address the user still has and the user is enabled. */
  user: { id: string; email: string } | null;
}

/** Tenant, reset token and its user: one round trip. Null: no such tenant. */
export async function loadResetToken(
  db: Database,
  scope: TenantScope,
  tokenHash: string,
): Promise<LoadedResetToken | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, k.id as k_id, k.user_id as k_user_id, k.expires_at as k_expires_at,
      k.used_at as k_used_at, u.id as u_id, u.email as u_email
    from tenants t
    left join email_tokens k on k.tenant_id = t.id and k.token_hash = ${tokenHash} and k.purpose = 'password_reset'
    left join users u on u.id = k.user_id and u.email_normalized = k.email and u.disabled_at is null
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return {
    tenant,
    token:
      row.k_id === null || row.k_id === undefined
        ? null
        : {
            id: String(row.k_id),
            userId: String(row.k_user_id),
            expiresAt: timestamp(row.k_expires_at),
            used: row.k_used_at !== null && row.k_used_at !== undefined,
          },
    user:
      row.u_id === null || row.u_id === undefined
        ? null
        : { id: String(row.u_id), email: String(row.u_email) },
  };
}

/**
 * The reset in one statement: uses the token (once, unexpired, for the user's current address),
 * sets the password, marks the address verified, voids other reset tokens, revokes every session
 * and refresh token, clears the failed-login lockout, and records `security.password.reset` and
 * one `security.session.revoked` per session. False: the token was used or expired meanwhile.
 */
export async function applyPasswordReset(
  db: Database,
  input: {
    tenantId: string;
    tokenId: string;
    userId: string;
    passwordHash: string;
    now: Date;
    client: ClientInfo;
  },
): Promise<boolean> {
  const { tenantId, userId, client, now } = input;
  const at = now.toISOString();
  const result = await db.execute(sql`
    with k as (
      update email_tokens set used_at = ${at}::timestamptz
      where id = ${input.tokenId}::uuid and tenant_id = ${tenantId}::uuid and purpose = 'password_reset'
        and used_at is null and expires_at > ${at}::timestamptz
      returning user_id, email
    ),
    u as (
      update users set password_hash = ${input.passwordHash}, email_verified = true, updated_at = ${at}::timestamptz
      from k
      where users.id = k.user_id and users.id = ${userId}::uuid and users.tenant_id = ${tenantId}::uuid
        and users.email_normalized = k.email and users.disabled_at is null
      returning users.id
    ),
    other_tokens as (
      update email_tokens set used_at = ${at}::timestamptz
      where user_id in (select id from u) and purpose = 'password_reset' and used_at is null
        and id <> ${input.tokenId}::uuid
    ),
    revoked as (
      update sessions s set revoked_at = ${at}::timestamptz
      where s.user_id in (select id from u) and s.revoked_at is null
      returning s.id
    ),
    refresh as (
      update refresh_tokens r set revoked_at = ${at}::timestamptz
      where r.session_id in (select s.id from sessions s where s.user_id in (select id from u))
        and r.revoked_at is null
    ),
    unlocked as (delete from login_failures where user_id in (select id from u)),
    reset_event as (${auditInsert(
      userEvent(tenantId, userId, 'security.password.reset', client, now, {
        sessions_revoked: 'all',
      }),
      { when: sql`exists (select 1 from u)` },
    )}),
    revoked_events as (
      ${auditInsertEach(
        {
          tenantId,
          type: 'security.session.revoked',
          actor: { type: 'user', id: userId },
          target: { type: 'session', id: null },
          ip: client.ip,
          userAgent: client.userAgent,
          details: { reason: 'password_reset' },
          at: now,
        },
        sql`revoked`,
        { targetId: sql`revoked.id` },
      )}
    )
    select count(*)::int as n from u`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}
