import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type ActorType } from '../audit/events.ts';
import type { TenantSettings } from '../tenants/settings.ts';

export type LockoutSettings = TenantSettings['lockout'];

/** Why a login failed: recorded in the audit log, never returned to the client. */
export type LoginFailureReason = 'unknown_account' | 'wrong_password' | 'disabled' | 'locked';

export interface LoginFailureAudit {
  reason: LoginFailureReason;
  ip: string | null;
  userAgent: string | null;
}

export function isLockoutEnabled(settings: LockoutSettings): boolean {
  return settings.maxFailures > 0 && settings.durationSeconds > 0;
}

/**
 * Records one failed login and, at the tenant's threshold, locks the account, in one statement
 * (the failed login's second round trip). The upsert's row lock serialises concurrent failures
 * of one account, and each sees the count the one before it wrote. A locked account's row is
 * left alone: failures while locked neither extend the lock nor count towards the next one.
 * Locking starts a fresh count, so after the lock the account gets the full allowance again.
 */
export async function recordLoginFailure(
  db: Database,
  tenantId: string,
  userId: string,
  settings: LockoutSettings,
  now: Date,
  audit: LoginFailureAudit,
): Promise<{ lockedNow: boolean }> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const event = {
    tenantId,
    actor: { type: 'user' as const, id: userId },
    target: { type: 'user', id: userId },
    ip: audit.ip,
    userAgent: audit.userAgent,
    at: now,
  };
  const enabled = isLockoutEnabled(settings);
  const windowStart = sql`${at} - make_interval(secs => ${settings.windowSeconds})`;
  // The count including this failure: the stored one while its window is open, else a new one.
  const count = sql`(case when f.window_started_at > ${windowStart} then f.failures + 1 else 1 end)`;
  const locks = enabled ? sql`(${count} >= ${settings.maxFailures})` : sql`false`;
  const firstLocks = enabled && settings.maxFailures <= 1;
  const lockedUntil = sql`${at} + make_interval(secs => ${settings.durationSeconds})`;
  const result = await db.execute(sql`
    with failure as (
      insert into login_failures as f (user_id, tenant_id, failures, window_started_at, locked_until)
      values (${userId}::uuid, ${tenantId}::uuid, ${firstLocks ? 0 : 1}, ${firstLocks ? null : sql`${at}`},
        ${firstLocks ? lockedUntil : null})
      on conflict (user_id) do update set
        failures = case when ${locks} then 0 else ${count} end,
        window_started_at = case when ${locks} then null
          when f.window_started_at > ${windowStart} then f.window_started_at else ${at} end,
        locked_until = case when ${locks} then ${lockedUntil} else null end
      where f.locked_until is null or f.locked_until <= ${at}
      returning f.locked_until
    ),
    failed_event as (${auditInsert({ ...event, type: 'security.login.failed', details: { reason: audit.reason } })}),
    locked_event as (
      ${auditInsert(
        {
          ...event,
          type: 'security.account.locked',
          details: { failures: settings.maxFailures, locked_for_seconds: settings.durationSeconds },
        },
        { when: sql`exists (select 1 from failure where locked_until is not null)` },
      )}
    )
    select locked_until from failure`);
  const row = result.rows[0];
  return {
    lockedNow: row !== undefined && row.locked_until !== null && row.locked_until !== undefined,
  };
}

/**
 * Lifts a lock and forgets the failures; false when the account had no lock in force, null when
 * the id is no user of the tenant (nothing is touched then: the failures row belongs to a user).
 */
export async function clearLoginFailures(
  db: Database,
  tenantId: string,
  userId: string,
  now: Date,
  actor: { type: ActorType; id: string | null },
): Promise<{ wasLocked: boolean } | null> {
  const result = await db.execute(sql`
    with cleared as (
      delete from login_failures
      where user_id = ${userId}::uuid and tenant_id = ${tenantId}::uuid
      returning locked_until
    ),
    unlocked_event as (
      ${auditInsert(
        {
          tenantId,
          type: 'security.account.unlocked',
          actor,
          target: { type: 'user', id: userId },
          at: now,
        },
        {
          when: sql`exists (select 1 from cleared where locked_until > ${now.toISOString()}::timestamptz)`,
        },
      )}
    )
    select
      exists (select 1 from cleared where locked_until > ${now.toISOString()}::timestamptz) as was_locked,
      exists (select 1 from users where id = ${userId}::uuid and tenant_id = ${tenantId}::uuid) as is_user`);
  const row = result.rows[0];
  const isTrue = (value: unknown): boolean => value === true || value === 't';
  if (!isTrue(row?.is_user)) return null;
  return { wasLocked: isTrue(row?.was_locked) };
}
