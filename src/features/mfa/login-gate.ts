import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert } from '../audit/events.ts';
import type { Deps } from '../../deps.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { NewSession } from '../sessions/repo.ts';
import { MFA_POLICIES, mfaSettingsSchema } from './settings.ts';
import { isTrue, roleNamesSQL, sessionInsertWhen, sessionRoleSQL } from './sql.ts';

/** Five minutes to type a code: long enough to find the phone, short for a stolen token. */
export const MFA_TOKEN_TTL_SECONDS = 300;

export type SecondFactorMethod = 'totp' | 'recovery_code' | 'passkey';

/** The answer to a right password when a second factor is due: no session yet. */
export interface SecondFactorRequired {
  mfa_required: true;
  mfa_token: string;
  methods: SecondFactorMethod[];
  /** The tenant requires a factor and the user has none: enrol with this token first. */
  enrollment_required?: true;
  expires_at: string;
}

export interface PreparedMfaToken {
  token: string;
  tokenHash: string;
  id: string;
  expiresAt: Date;
}

/** A fresh MFA token and the hash that is stored; nothing written yet. */
export async function prepareMfaToken(deps: Deps): Promise<PreparedMfaToken> {
  const token = encodeBase64url(deps.random.bytes(32));
  return {
    token,
    tokenHash: await hashToken(token),
    id: crypto.randomUUID(),
    expiresAt: new Date(deps.clock.now().getTime() + MFA_TOKEN_TTL_SECONDS * 1000),
  };
}

export type LoginOutcome =
  | { kind: 'session'; activeOrganizationId: string | null; role: string | null }
  | { kind: 'mfa'; answer: SecondFactorRequired }
  /** The caller's precondition did not hold (e.g. a concurrent request used the code first). */
  | { kind: 'refused' };

export interface LoginGateOptions {
  /** How the first factor was proved, for the audit event. */
  method?: 'password' | 'email_otp';
  /**
   * CTE members, the last named `pre`, that run in the same statement: nothing (no session, no
   * MFA token) happens unless `pre` returns a row. Email OTP uses it to consume the code.
   */
  precondition?: SQL;
}

const DEFAULT_MFA = mfaSettingsSchema.parse({}).mfa;

/**
 * The last statement of a password login, so a login stays at two round trips: decides in SQL
 * whether a second factor is due (the user has TOTP or a passkey: `challenge`; the tenant's MFA
 * policy requires one and the user has none: `enroll`) and then either starts the session (in
 * the organization the user joined first, storing an upgraded hash, clearing the failed-login
 * count) or stores the MFA token, never both.
 */
export async function insertLoginSessionOrMfaToken(
  db: Database,
  session: NewSession,
  upgradedHash: string | null,
  token: PreparedMfaToken,
  options: LoginGateOptions = {},
): Promise<LoginOutcome> {
  const pre = options.precondition ?? sql`pre as (select 1 as one)`;
  const at = session.now.toISOString();
  const userId = session.userId;
  const policy = sql`coalesce(t.settings->'mfa'->>'policy', ${DEFAULT_MFA.policy})`;
  const adminRoles = sql`coalesce(t.settings->'mfa'->'adminRoles', ${JSON.stringify(DEFAULT_MFA.adminRoles)}::jsonb)`;
  const result = await db.execute(sql`
    with ${pre},
    f as (
      select
        exists (select 1 from mfa_totp x where x.user_id = ${userId}::uuid and x.confirmed_at is not null) as has_totp,
        exists (select 1 from passkeys p where p.user_id = ${userId}::uuid) as has_passkey,
        (${policy} = ${MFA_POLICIES[1]} or (${policy} = ${MFA_POLICIES[2]} and exists (
          select 1 from json_array_elements_text(${roleNamesSQL(sql`${userId}::uuid`)}) r
          where r.value in (select jsonb_array_elements_text(${adminRoles}))))) as required
      from tenants t where t.id = ${session.tenantId}::uuid
    ),
    due as (
      select case when f.has_totp or f.has_passkey then 'challenge' when f.required then 'enroll' end as purpose from f
    ),
    s as (${sessionInsertWhen(session, sql`not exists (select 1 from due where purpose is not null) and exists (select 1 from pre)`)}),
    upgraded as (
      update users set password_hash = ${upgradedHash}, updated_at = ${at}::timestamptz
      where id = ${userId}::uuid and ${upgradedHash}::text is not null
    ),
    failures_cleared as (delete from login_failures where user_id = ${userId}::uuid and exists (select 1 from s)),
    audit as (
      ${auditInsert(
        {
          tenantId: session.tenantId,
          type: 'security.login.succeeded',
          actor: { type: 'user', id: userId },
          target: { type: 'session', id: session.id },
          ip: session.ip,
          userAgent: session.userAgent,
          details: { method: options.method ?? 'password', hash_upgraded: upgradedHash !== null },
          at: session.now,
        },
        { when: sql`exists (select 1 from s)` },
      )}
    ),
    k as (
      insert into mfa_tokens (id, tenant_id, user_id, token_hash, purpose, expires_at, created_at)
      select ${token.id}::uuid, ${session.tenantId}::uuid, ${userId}::uuid, ${token.tokenHash}, due.purpose,
        ${token.expiresAt.toISOString()}::timestamptz, ${at}::timestamptz
      from due where due.purpose is not null and exists (select 1 from pre)
      returning purpose
    )
    select s.id as s_id, s.active_organization_id as s_org, ${sessionRoleSQL(userId)} as s_role,
      (select purpose from k) as purpose, f.has_totp, f.has_passkey, exists (select 1 from pre) as pre_ok
    from f left join s on true`);
  const row = result.rows[0] ?? {};
  if (!isTrue(row.pre_ok)) return { kind: 'refused' };
  if (row.purpose === null || row.purpose === undefined) {
    return {
      kind: 'session',
      activeOrganizationId: row.s_org ? String(row.s_org) : null,
      role: row.s_role ? String(row.s_role) : null,
    };
  }
  const base = {
    mfa_required: true as const,
    mfa_token: token.token,
    expires_at: token.expiresAt.toISOString(),
  };
  if (row.purpose === 'enroll')
    return { kind: 'mfa', answer: { ...base, methods: [], enrollment_required: true } };
  const methods: SecondFactorMethod[] = [];
  if (isTrue(row.has_totp)) methods.push('totp');
  if (isTrue(row.has_passkey)) methods.push('passkey');
  methods.push('recovery_code');
  return { kind: 'mfa', answer: { ...base, methods } };
}
