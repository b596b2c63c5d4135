import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import type { LoginCandidate } from '../accounts/repo.ts';
import { timestamp } from '../sessions/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';

/** Five wrong guesses kill a code (the figure). */
export const OTP_MAX_ATTEMPTS = 5;

export interface OTPCandidate {
  tenant: LoginCandidate['tenant'];
  user: {
    id: string;
    email: string;
    name: string | null;
    createdAt: Date;
    disabled: boolean;
  } | null;
  code: { hash: string; attempts: number; expiresAt: Date; used: boolean } | null;
}

/** Tenant, the account for the address and its sign-in code: one round trip. */
export async function findOTPCandidate(
  db: Database,
  scope: TenantScope,
  emailNormalized: string,
): Promise<OTPCandidate | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, u.id as u_id, u.email as u_email, u.disabled_at as u_disabled_at,
      u.name as u_name, u.created_at as u_created_at,
      c.code_hash as c_hash, c.attempts as c_attempts, c.expires_at as c_expires_at, c.used_at as c_used_at
    from tenants t
    left join users u on u.tenant_id = t.id and u.email_normalized = ${emailNormalized}
    left join email_otp_codes c on c.user_id = u.id and c.tenant_id = t.id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const hasUser = row.u_id !== null && row.u_id !== undefined;
  const hasCode = row.c_hash !== null && row.c_hash !== undefined;
  return {
    tenant,
    user: hasUser
      ? {
          id: String(row.u_id),
          email: String(row.u_email),
          name: row.u_name === null || row.u_name === undefined ? null : String(row.u_name),
          createdAt: timestamp(row.u_created_at),
          disabled: row.u_disabled_at !== null && row.u_disabled_at !== undefined,
        }
      : null,
    code: hasCode
      ? {
          hash: String(row.c_hash),
          attempts: Number(row.c_attempts ?? 0),
          expiresAt: timestamp(row.c_expires_at),
          used: row.c_used_at !== null && row.c_used_at !== undefined,
        }
      : null,
  };
}

function otpEvent(
  tenantId: string,
  userId: string | null,
  type: AuditEvent['type'],
  client: ClientInfo,
  at: Date,
  details: Record<string, unknown>,
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
 * A code request's one write, the same shape for every address: for a known, enabled user the
 * code (replacing any earlier one, attempts back to 0) and the event; otherwise the event alone.
 */
export async function storeOTP(
  db: Database,
  input: {
    tenantId: string;
    userId: string | null;
    codeHash: string;
    now: Date;
    expiresAt: Date;
    client: ClientInfo;
    outcome: 'issued' | 'unknown_account' | 'disabled';
  },
): Promise<void> {
  const { tenantId, client, now } = input;
  const at = now.toISOString();
  const userId = input.outcome === 'issued' ? input.userId : null;
  await db.execute(sql`
    with c as (
      insert into email_otp_codes (user_id, tenant_id, code_hash, attempts, expires_at, used_at, created_at)
      select u.id, u.tenant_id, ${input.codeHash}, 0, ${input.expiresAt.toISOString()}::timestamptz, null, ${at}::timestamptz
      from users u where u.id = ${userId}::uuid and u.tenant_id = ${tenantId}::uuid and u.disabled_at is null
      on conflict (user_id) do update set code_hash = excluded.code_hash, attempts = 0,
        expires_at = excluded.expires_at, used_at = null, created_at = excluded.created_at
      returning user_id
    ),
    audit as (${auditInsert(
      otpEvent(tenantId, input.userId, 'security.email_otp.requested', client, now, {
        outcome: input.outcome,
      }),
    )})
    select count(*)::int as n from c`);
}

/**
 * A wrong (or unusable) code: counts the guess against the user's live code, if any, and records
 * the event, in one statement.
 */
export async function recordOTPFailure(
  db: Database,
  input: {
    tenantId: string;
    userId: string | null;
    now: Date;
    client: ClientInfo;
    reason: string;
  },
): Promise<void> {
  const { tenantId, userId, client, now } = input;
  const at = now.toISOString();
  await db.execute(sql`
    with c as (
      update email_otp_codes set attempts = attempts + 1
      where user_id = ${userId}::uuid and tenant_id = ${tenantId}::uuid and used_at is null
        and attempts < ${OTP_MAX_ATTEMPTS} and expires_at > ${at}::timestamptz
      returning attempts
    ),
    audit as (${auditInsert(
      otpEvent(tenantId, userId, 'security.email_otp.failed', client, now, {
        reason: input.reason,
      }),
    )})
    select count(*)::int as n from c`);
}

/**
 * The precondition of the sign-in statement (src/features/mfa/login-gate.ts): the code is used
 * up (once, unexpired, under five guesses) and, since it proves control of the address, the
 * address marked verified.
 */
export function consumeOTP(tenantId: string, userId: string, codeHash: string, now: Date): SQL {
  const at = now.toISOString();
  return sql`pre as (
      update email_otp_codes set used_at = ${at}::timestamptz
      where user_id = ${userId}::uuid and tenant_id = ${tenantId}::uuid and code_hash = ${codeHash}
        and used_at is null and attempts < ${OTP_MAX_ATTEMPTS} and expires_at > ${at}::timestamptz
      returning user_id
    ),
    otp_verified as (
      update users set email_verified = true
      where id in (select user_id from pre) and not email_verified
    )`;
}
