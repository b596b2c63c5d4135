import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import type { NewSession } from '../sessions/repo.ts';
import { timestamp } from '../sessions/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { isTrue, optionalDate, sessionInsertWhen, sessionRoleSQL } from './sql.ts';

export type MfaTokenPurpose = 'challenge' | 'enroll';

export interface NewMfaToken {
  id: string;
  tenantId: string;
  userId: string;
  tokenHash: string;
  purpose: MfaTokenPurpose;
  now: Date;
  expiresAt: Date;
}

export interface TOTPRow {
  sealed: string;
  confirmed: boolean;
  lastUsedStep: number | null;
}

export interface LoadedMfaToken {
  tenant: Tenant;
  settings: unknown;
  token: {
    id: string;
    userId: string;
    purpose: MfaTokenPurpose;
    expiresAt: Date;
    used: boolean;
  } | null;
  user: {
    id: string;
    email: string;
    name: string | null;
    emailVerified: boolean;
    createdAt: Date;
    disabled: boolean;
  } | null;
  totp: TOTPRow | null;
  failures: number;
  lockedUntil: Date | null;
  recoveryCodes: Array<{ id: string; hash: string }>;
}

function readTOTP(row: Record<string, unknown>): TOTPRow | null {
  if (row.x_secret === null || row.x_secret === undefined) return null;
  return {
    sealed: String(row.x_secret),
    confirmed: row.x_confirmed_at !== null && row.x_confirmed_at !== undefined,
    lastUsedStep:
      row.x_last_step === null || row.x_last_step === undefined ? null : Number(row.x_last_step),
  };
}

/** Tenant, MFA token, its user, TOTP factor, lockout and unused recovery codes: one round trip. */
export async function loadMfaToken(
  db: Database,
  scope: TenantScope,
  tokenHash: string,
): Promise<LoadedMfaToken | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, k.id as k_id, k.user_id as k_user_id, k.purpose as k_purpose,
      k.expires_at as k_expires_at, k.used_at as k_used_at,
      u.id as u_id, u.email as u_email, u.name as u_name, u.email_verified as u_email_verified,
      u.created_at as u_created_at, u.disabled_at as u_disabled_at,
      x.secret_sealed as x_secret, x.confirmed_at as x_confirmed_at, x.last_used_step as x_last_step,
      l.failures as l_failures, l.locked_until as l_locked_until,
      (select coalesce(json_agg(json_build_object('id', c.id, 'hash', c.code_hash)), '[]'::json)
        from mfa_recovery_codes c where c.user_id = k.user_id and c.used_at is null) as codes
    from tenants t
    left join mfa_tokens k on k.tenant_id = t.id and k.token_hash = ${tokenHash}
    left join users u on u.id = k.user_id
    left join mfa_totp x on x.user_id = k.user_id
    left join mfa_lockouts l on l.user_id = k.user_id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const hasToken = row.k_id !== null && row.k_id !== undefined;
  const codes = typeof row.codes === 'string' ? (JSON.parse(row.codes) as unknown) : row.codes;
  return {
    tenant,
    settings: row.t_settings,
    token: hasToken
      ? {
          id: String(row.k_id),
          userId: String(row.k_user_id),
          purpose: row.k_purpose === 'enroll' ? 'enroll' : 'challenge',
          expiresAt: timestamp(row.k_expires_at),
          used: row.k_used_at !== null && row.k_used_at !== undefined,
        }
      : null,
    user:
      row.u_id === null || row.u_id === undefined
        ? null
        : {
            id: String(row.u_id),
            email: String(row.u_email),
            name: row.u_name === null ? null : String(row.u_name),
            emailVerified: isTrue(row.u_email_verified),
            createdAt: timestamp(row.u_created_at),
            disabled: row.u_disabled_at !== null && row.u_disabled_at !== undefined,
          },
    totp: readTOTP(row),
    failures: Number(row.l_failures ?? 0),
    lockedUntil: optionalDate(row.l_locked_until),
    recoveryCodes: Array.isArray(codes)
      ? codes.map((c: { id: unknown; hash: unknown }) => ({
          id: String(c.id),
          hash: String(c.hash),
        }))
      : [],
  };
}

export interface SessionOutcome {
  activeOrganizationId: string | null;
  role: string | null;
}

function readSessionOutcome(row: Record<string, unknown> | undefined): SessionOutcome | null {
  if (row === undefined || row.s_id === null || row.s_id === undefined) return null;
  return {
    activeOrganizationId: row.s_org ? String(row.s_org) : null,
    role: row.s_role ? String(row.s_role) : null,
  };
}

function event(
  tenantId: string,
  userId: string,
  type: AuditEvent['type'],
  client: ClientInfo,
  now: Date,
  details: Record<string, unknown> = {},
  target: AuditEvent['target'] = { type: 'user', id: userId },
): AuditEvent {
  return {
    tenantId,
    type,
    actor: { type: 'user', id: userId },
    target,
    ip: client.ip,
    userAgent: client.userAgent,
    details,
    at: now,
  };
}

export interface ChallengeSuccess {
  tokenId: string;
  tenantId: string;
  userId: string;
  /** The TOTP step accepted, or null when a recovery code was used. */
  step: number | null;
  recoveryCodeId: string | null;
  session: NewSession;
  client: ClientInfo;
}

/**
 * Completes a second-factor challenge in one statement: consumes the MFA token (single use,
 * unexpired), advances the TOTP step (only forwards: a replayed step changes nothing) or uses
 * the recovery code (only once, voiding every other unused one), and only if both held starts the session, clears the lockout
 * and failed-login counts, and writes the audit events. Null: a concurrent request won.
 */
export async function completeChallenge(
  db: Database,
  input: ChallengeSuccess,
): Promise<SessionOutcome | null> {
  const at = input.session.now.toISOString();
  const { tenantId, userId, client } = input;
  const now = input.session.now;
  const method = input.step === null ? 'recovery_code' : 'totp';
  const result = await db.execute(sql`
    with tok as (
      update mfa_tokens set used_at = ${at}::timestamptz
      where id = ${input.tokenId}::uuid and used_at is null and expires_at > ${at}::timestamptz
      returning id
    ),
    step as (
      update mfa_totp set last_used_step = ${input.step}::bigint
      where user_id = ${userId}::uuid and confirmed_at is not null and ${input.step}::bigint is not null
        and (last_used_step is null or last_used_step < ${input.step}::bigint) and exists (select 1 from tok)
      returning user_id
    ),
    rc as (
      update mfa_recovery_codes set used_at = ${at}::timestamptz
      where id = ${input.recoveryCodeId}::uuid and user_id = ${userId}::uuid and used_at is null
        and exists (select 1 from tok)
      returning id
    ),
    ok as (select 1 as one where exists (select 1 from step) or exists (select 1 from rc)),
    -- Using one recovery code invalidates the rest (production checklist): the user makes a new set.
    rest as (
      update mfa_recovery_codes set used_at = ${at}::timestamptz
      where user_id = ${userId}::uuid and used_at is null and exists (select 1 from rc)
        and id <> ${input.recoveryCodeId}::uuid
    ),
    s as (${sessionInsertWhen(input.session, sql`exists (select 1 from ok)`)}),
    lock_cleared as (delete from mfa_lockouts where user_id = ${userId}::uuid and exists (select 1 from ok)),
    failures_cleared as (delete from login_failures where user_id = ${userId}::uuid and exists (select 1 from ok)),
    a1 as (${auditInsert(event(tenantId, userId, 'security.mfa.challenge.succeeded', client, now, { method }), { when: sql`exists (select 1 from ok)` })}),
    a2 as (${auditInsert(event(tenantId, userId, 'security.recovery_code.used', client, now, { remaining_codes_invalidated: true }), { when: sql`exists (select 1 from rc)` })})
    select s.id as s_id, s.active_organization_id as s_org, ${sessionRoleSQL(userId)} as s_role from s`);
  return readSessionOutcome(result.rows[0]);
}

/** Five wrong codes (consecutive, since the last success or lock) lock the factor. */
export const MFA_MAX_FAILURES = 5;

/**
 * Counts a wrong code and locks the factor on the fifth, with the audit events, in one statement.
 * A lock that has run out starts the count again.
 */
export async function recordChallengeFailure(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    now: Date;
    lockSeconds: number;
    client: ClientInfo;
    reason: string;
  },
): Promise<{ lockedUntil: Date | null }> {
  const at = input.now.toISOString();
  const until =
    input.lockSeconds > 0
      ? new Date(input.now.getTime() + input.lockSeconds * 1000).toISOString()
      : null;
  const fresh = sql`(mfa_lockouts.locked_until is not null and mfa_lockouts.locked_until <= ${at}::timestamptz)`;
  const next = sql`(case when ${fresh} then 1 else mfa_lockouts.failures + 1 end)`;
  const { tenantId, userId, client, now } = input;
  const result = await db.execute(sql`
    with up as (
      insert into mfa_lockouts (user_id, tenant_id, failures, locked_until)
      values (${userId}::uuid, ${tenantId}::uuid, 1, case when 1 >= ${MFA_MAX_FAILURES} then ${until}::timestamptz end)
      on conflict (user_id) do update set
        failures = ${next},
        locked_until = case when ${next} >= ${MFA_MAX_FAILURES} then ${until}::timestamptz
          when ${fresh} then null else mfa_lockouts.locked_until end
      returning failures, locked_until
    ),
    a1 as (${auditInsert(event(tenantId, userId, 'security.mfa.challenge.failed', client, now, { reason: input.reason }))}),
    a2 as (${auditInsert(event(tenantId, userId, 'security.mfa.locked', client, now, { until }), {
      when: sql`exists (select 1 from up where up.failures >= ${MFA_MAX_FAILURES} and up.locked_until is not null)`,
    })})
    select failures, locked_until from up`);
  return { lockedUntil: optionalDate(result.rows[0]?.locked_until) };
}

/** Stores a new pending secret unless a confirmed factor exists (then false). One round trip. */
export async function upsertPendingTOTP(
  db: Database,
  tenantId: string,
  userId: string,
  sealed: string,
  now: Date,
): Promise<boolean> {
  const result = await db.execute(sql`
    insert into mfa_totp (user_id, tenant_id, secret_sealed, created_at)
    values (${userId}::uuid, ${tenantId}::uuid, ${sealed}, ${now.toISOString()}::timestamptz)
    on conflict (user_id) do update set secret_sealed = excluded.secret_sealed, created_at = excluded.created_at,
      last_used_step = null
    where mfa_totp.confirmed_at is null
    returning user_id`);
  return result.rows.length > 0;
}

export interface FactorState {
  totp: TOTPRow | null;
  passkeys: number;
  recoveryCodesLeft: number;
  settings: unknown;
}

export async function loadFactorState(
  db: Database,
  tenantId: string,
  userId: string,
): Promise<FactorState> {
  const result = await db.execute(sql`
    select t.settings, x.secret_sealed as x_secret, x.confirmed_at as x_confirmed_at, x.last_used_step as x_last_step,
      (select count(*)::int from passkeys p where p.user_id = ${userId}::uuid) as passkeys,
      (select count(*)::int from mfa_recovery_codes c where c.user_id = ${userId}::uuid and c.used_at is null) as codes
    from tenants t left join mfa_totp x on x.user_id = ${userId}::uuid and x.tenant_id = t.id
    where t.id = ${tenantId}::uuid`);
  const row = result.rows[0] ?? {};
  return {
    totp: readTOTP(row),
    passkeys: Number(row.passkeys ?? 0),
    recoveryCodesLeft: Number(row.codes ?? 0),
    settings: row.settings,
  };
}

/** Recovery codes for a user who has none left unused: the insert of a first factor's statement (returns id). */
export function firstRecoveryCodes(
  tenantId: string,
  userId: string,
  hashes: string[],
  now: Date,
  gate: SQL,
): SQL {
  return sql`insert into mfa_recovery_codes (tenant_id, user_id, code_hash, created_at)
    select ${tenantId}::uuid, ${userId}::uuid, h.value, ${now.toISOString()}::timestamptz
    from json_array_elements_text(${JSON.stringify(hashes)}::json) h
    where ${gate} and not exists (
      select 1 from mfa_recovery_codes c where c.user_id = ${userId}::uuid and c.used_at is null)
    returning id`;
}

export interface Activation {
  tenantId: string;
  userId: string;
  step: number;
  now: Date;
  recoveryHashes: string[];
  client: ClientInfo;
  /** Enrolment through an MFA token (the tenant requires a factor): consume it, start the session. */
  viaToken: { tokenId: string; session: NewSession } | null;
}

/**
 * Confirms a pending TOTP factor: recovery codes when the user has none, the audit event, and
 * for the token path the session. Returns whether it activated and how many codes were stored.
 */
export async function activateTOTP(
  db: Database,
  input: Activation,
): Promise<{ activated: boolean; codesStored: number; session: SessionOutcome | null }> {
  const at = input.now.toISOString();
  const { tenantId, userId, client, now } = input;
  const token = input.viaToken;
  const tokenGate =
    token === null
      ? sql`select 1 as one`
      : sql`update mfa_tokens set used_at = ${at}::timestamptz where id = ${token.tokenId}::uuid and used_at is null
        and purpose = 'enroll' and expires_at > ${at}::timestamptz returning id`;
  const result = await db.execute(sql`
    with tok as (${tokenGate}),
    act as (
      update mfa_totp set confirmed_at = ${at}::timestamptz, last_used_step = ${input.step}::bigint
      where user_id = ${userId}::uuid and tenant_id = ${tenantId}::uuid and confirmed_at is null
        and exists (select 1 from tok)
      returning user_id
    ),
    codes as (${firstRecoveryCodes(tenantId, userId, input.recoveryHashes, now, sql`exists (select 1 from act)`)}),
    s as (${token === null ? sql`select null::uuid as id, null::uuid as active_organization_id where false` : sessionInsertWhen(token.session, sql`exists (select 1 from act)`)}),
    a1 as (${auditInsert(event(tenantId, userId, 'security.mfa.totp.enabled', client, now), { when: sql`exists (select 1 from act)` })})
    select (select count(*)::int from act) as activated, (select count(*)::int from codes) as codes,
      s.id as s_id, s.active_organization_id as s_org, ${sessionRoleSQL(userId)} as s_role
    from (select 1) one left join s on true`);
  const row = result.rows[0];
  return {
    activated: Number(row?.activated ?? 0) > 0,
    codesStored: Number(row?.codes ?? 0),
    session: readSessionOutcome(row),
  };
}

/** Removes the TOTP factor; with no passkey left, the recovery codes go too (nothing to recover). */
export async function deleteTOTP(
  db: Database,
  tenantId: string,
  userId: string,
  now: Date,
  client: ClientInfo,
): Promise<boolean> {
  const result = await db.execute(sql`
    with gone as (
      delete from mfa_totp where user_id = ${userId}::uuid and tenant_id = ${tenantId}::uuid and confirmed_at is not null
      returning user_id
    ),
    codes as (
      delete from mfa_recovery_codes where user_id = ${userId}::uuid and exists (select 1 from gone)
        and not exists (select 1 from passkeys p where p.user_id = ${userId}::uuid)
    ),
    a1 as (${auditInsert(event(tenantId, userId, 'security.mfa.totp.disabled', client, now), { when: sql`exists (select 1 from gone)` })})
    select count(*)::int as n from gone`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}

/** Replaces every recovery code of the user with a new set, in one statement. */
export async function replaceRecoveryCodes(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    hashes: string[];
    now: Date;
    client: ClientInfo;
    step: number | null;
  },
): Promise<boolean> {
  const { tenantId, userId, client, now } = input;
  const at = now.toISOString();
  const result = await db.execute(sql`
    with step as (
      update mfa_totp set last_used_step = ${input.step}::bigint
      where user_id = ${userId}::uuid and ${input.step}::bigint is not null
        and (last_used_step is null or last_used_step < ${input.step}::bigint)
      returning user_id
    ),
    ok as (select 1 as one where ${input.step}::bigint is null or exists (select 1 from step)),
    old as (delete from mfa_recovery_codes where user_id = ${userId}::uuid and exists (select 1 from ok)),
    new as (
      insert into mfa_recovery_codes (tenant_id, user_id, code_hash, created_at)
      select ${tenantId}::uuid, ${userId}::uuid, h.value, ${at}::timestamptz
      from json_array_elements_text(${JSON.stringify(input.hashes)}::json) h where exists (select 1 from ok)
      returning id
    ),
    a1 as (${auditInsert(event(tenantId, userId, 'security.recovery_codes.regenerated', client, now), { when: sql`exists (select 1 from ok)` })})
    select count(*)::int as n from new`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}
