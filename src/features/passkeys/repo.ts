import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import { firstRecoveryCodes, type NewMfaToken } from '../mfa/repo.ts';
import {
  isTrue,
  jsonStrings,
  optionalDate,
  roleNamesSQL,
  sessionInsertWhen,
  sessionRoleSQL,
} from '../mfa/sql.ts';
import { timestamp, type NewSession } from '../sessions/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, scopeTenant, tenantMatch } from '../tenants/repo.ts';

export interface NewChallenge {
  id: string;
  tenantId: string;
  userId: string | null;
  challenge: string;
  now: Date;
  expiresAt: Date;
}

export interface StoredCredential {
  id: string;
  transports: string[];
}

function auditEvent(
  tenantId: string,
  userId: string | null,
  type: AuditEvent['type'],
  client: ClientInfo,
  now: Date,
  target: AuditEvent['target'],
  details: Record<string, unknown> = {},
): AuditEvent {
  return {
    tenantId,
    type,
    actor: userId === null ? { type: 'anonymous' } : { type: 'user', id: userId },
    target,
    ip: client.ip,
    userAgent: client.userAgent,
    details,
    at: now,
  };
}

/** Stores a registration challenge and reads the settings and the user's credentials: one round trip. */
export async function insertRegistrationChallenge(
  db: Database,
  challenge: NewChallenge,
): Promise<{ settings: unknown; credentials: StoredCredential[] }> {
  const result = await db.execute(sql`
    with c as (
      insert into webauthn_challenges (id, tenant_id, user_id, challenge, purpose, expires_at, created_at)
      values (${challenge.id}::uuid, ${challenge.tenantId}::uuid, ${challenge.userId}::uuid, ${challenge.challenge},
        'registration', ${challenge.expiresAt.toISOString()}::timestamptz, ${challenge.now.toISOString()}::timestamptz)
      returning id
    )
    select t.settings, (select coalesce(json_agg(json_build_object('id', p.credential_id, 'transports', p.transports)), '[]'::json)
      from passkeys p where p.user_id = ${challenge.userId}::uuid) as credentials
    from tenants t where t.id = ${challenge.tenantId}::uuid and exists (select 1 from c)`);
  const row = result.rows[0] ?? {};
  const credentials =
    typeof row.credentials === 'string'
      ? (JSON.parse(row.credentials) as unknown)
      : row.credentials;
  return {
    settings: row.settings,
    credentials: Array.isArray(credentials)
      ? credentials.map((c: { id: unknown; transports: unknown }) => ({
          id: String(c.id),
          transports: parseTextArray(c.transports),
        }))
      : [],
  };
}

/** A live registration challenge of this user (unexpired, unused) and the tenant's settings. */
export async function findRegistrationChallenge(
  db: Database,
  tenantId: string,
  userId: string,
  challenge: string,
  now: Date,
): Promise<{ id: string; settings: unknown } | null> {
  const result = await db.execute(sql`
    select c.id, t.settings from webauthn_challenges c join tenants t on t.id = c.tenant_id
    where c.tenant_id = ${tenantId}::uuid and c.user_id = ${userId}::uuid and c.challenge = ${challenge}
      and c.purpose = 'registration' and c.expires_at > ${now.toISOString()}::timestamptz`);
  const row = result.rows[0];
  return row === undefined ? null : { id: String(row.id), settings: row.settings };
}

export interface NewPasskey {
  id: string;
  tenantId: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  aaguid: string | null;
  name: string;
  deviceType: string;
  backedUp: boolean;
  now: Date;
}

/**
 * Uses the challenge (deleting it) and stores the credential, with recovery codes when the user
 * had none and the audit event, in one statement. A credential id already known in the tenant
 * (another user's, or this user's) stores nothing.
 */
export async function storePasskey(
  db: Database,
  challengeId: string,
  passkey: NewPasskey,
  recoveryHashes: string[],
  client: ClientInfo,
): Promise<{ challengeUsed: boolean; stored: boolean; codesStored: number }> {
  const at = passkey.now.toISOString();
  const { tenantId, userId } = passkey;
  const result = await db.execute(sql`
    with c as (delete from webauthn_challenges where id = ${challengeId}::uuid and expires_at > ${at}::timestamptz returning id),
    p as (
      insert into passkeys (id, tenant_id, user_id, credential_id, public_key, counter, transports, aaguid, name, device_type, backed_up, created_at)
      select ${passkey.id}::uuid, ${tenantId}::uuid, ${userId}::uuid, ${passkey.credentialId}, ${passkey.publicKey},
        ${passkey.counter}::bigint, array(select json_array_elements_text(${JSON.stringify(passkey.transports)}::json)),
        ${passkey.aaguid}, ${passkey.name}, ${passkey.deviceType}, ${passkey.backedUp}, ${at}::timestamptz
      where exists (select 1 from c)
      on conflict (tenant_id, credential_id) do nothing
      returning id
    ),
    codes as (${firstRecoveryCodes(tenantId, userId, recoveryHashes, passkey.now, sql`exists (select 1 from p)`)}),
    a1 as (${auditInsert(auditEvent(tenantId, userId, 'security.passkey.registered', client, passkey.now, { type: 'passkey', id: passkey.id }), { when: sql`exists (select 1 from p)` })})
    select (select count(*)::int from c) as used, (select count(*)::int from p) as stored, (select count(*)::int from codes) as codes`);
  const row = result.rows[0] ?? {};
  return {
    challengeUsed: Number(row.used) > 0,
    stored: Number(row.stored) > 0,
    codesStored: Number(row.codes ?? 0),
  };
}

/** Stores a sign-in challenge for the tenant the request names: one round trip. */
export async function insertAuthenticationChallenge(
  db: Database,
  scope: TenantScope,
  challenge: Omit<NewChallenge, 'tenantId' | 'userId'>,
): Promise<{ tenant: Tenant; settings: unknown } | null> {
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(scope.ref)}),
    c as (
      insert into webauthn_challenges (id, tenant_id, user_id, challenge, purpose, expires_at, created_at)
      select ${challenge.id}::uuid, t.id, null, ${challenge.challenge}, 'authentication',
        ${challenge.expiresAt.toISOString()}::timestamptz, ${challenge.now.toISOString()}::timestamptz from t
      returning id
    )
    select ${TENANT_COLUMNS} from t`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  return row === undefined || tenant === null ? null : { tenant, settings: row.t_settings };
}

export interface LoadedAuthentication {
  tenant: Tenant;
  settings: unknown;
  challenge: { id: string; expiresAt: Date } | null;
  passkey: {
    id: string;
    userId: string;
    publicKey: string;
    counter: number;
    transports: string[];
  } | null;
  user: {
    id: string;
    email: string;
    name: string | null;
    emailVerified: boolean;
    createdAt: Date;
    disabled: boolean;
    hasTOTP: boolean;
    roles: string[];
  } | null;
}

/** Tenant, challenge, credential, its user and what the MFA policy needs: one round trip. */
export async function loadAuthentication(
  db: Database,
  scope: TenantScope,
  challenge: string,
  credentialId: string,
): Promise<LoadedAuthentication | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, c.id as c_id, c.expires_at as c_expires_at,
      p.id as p_id, p.user_id as p_user_id, p.public_key as p_public_key, p.counter as p_counter, p.transports as p_transports,
      u.id as u_id, u.email as u_email, u.name as u_name, u.email_verified as u_email_verified,
      u.created_at as u_created_at, u.disabled_at as u_disabled_at,
      exists (select 1 from mfa_totp x where x.user_id = u.id and x.confirmed_at is not null) as u_has_totp,
      case when u.id is null then '[]'::json else ${roleNamesSQL(sql`u.id`)} end as u_roles
    from tenants t
    left join webauthn_challenges c on c.tenant_id = t.id and c.challenge = ${challenge} and c.purpose = 'authentication'
    left join passkeys p on p.tenant_id = t.id and p.credential_id = ${credentialId}
    left join users u on u.id = p.user_id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return {
    tenant,
    settings: row.t_settings,
    challenge:
      row.c_id === null || row.c_id === undefined
        ? null
        : { id: String(row.c_id), expiresAt: timestamp(row.c_expires_at) },
    passkey:
      row.p_id === null || row.p_id === undefined
        ? null
        : {
            id: String(row.p_id),
            userId: String(row.p_user_id),
            publicKey: String(row.p_public_key),
            counter: Number(row.p_counter),
            transports: parseTextArray(row.p_transports),
          },
    user:
      row.u_id === null || row.u_id === undefined
        ? null
        : {
            id: String(row.u_id),
            email: String(row.u_email),
            name: row.u_name === null ? null : String(row.u_name),
            emailVerified: isTrue(row.u_email_verified),
            createdAt: timestamp(row.u_created_at),
            disabled: optionalDate(row.u_disabled_at) !== null,
            hasTOTP: isTrue(row.u_has_totp),
            roles: jsonStrings(row.u_roles),
          },
  };
}

export type PasskeyLoginNext =
  { kind: 'session'; session: NewSession } | { kind: 'mfa'; token: NewMfaToken };

/**
 * Finishes a passkey sign-in in one statement: uses the challenge (single use), moves the
 * counter forward from the value the signature was checked against (a concurrent use makes this
 * fail), then starts the session, or issues the MFA token when the passkey did not verify the
 * user and another factor is due; with the audit event.
 */
export async function completePasskeyLogin(
  db: Database,
  input: {
    tenantId: string;
    challengeId: string;
    passkeyId: string;
    userId: string;
    oldCounter: number;
    newCounter: number;
    userVerified: boolean;
    now: Date;
    next: PasskeyLoginNext;
    client: ClientInfo;
  },
): Promise<{ done: boolean; activeOrganizationId: string | null; role: string | null }> {
  const at = input.now.toISOString();
  const { tenantId, userId, client, now, next } = input;
  const gate = sql`exists (select 1 from p)`;
  const result = await db.execute(sql`
    with c as (delete from webauthn_challenges where id = ${input.challengeId}::uuid and expires_at > ${at}::timestamptz returning id),
    p as (
      update passkeys set counter = ${input.newCounter}::bigint, last_used_at = ${at}::timestamptz
      where id = ${input.passkeyId}::uuid and counter = ${input.oldCounter}::bigint and exists (select 1 from c)
      returning user_id
    ),
    s as (${next.kind === 'session' ? sessionInsertWhen(next.session, gate) : sql`select null::uuid as id, null::uuid as active_organization_id where false`}),
    k as (
      ${
        next.kind === 'mfa'
          ? sql`insert into mfa_tokens (id, tenant_id, user_id, token_hash, purpose, expires_at, created_at)
              select ${next.token.id}::uuid, ${tenantId}::uuid, ${userId}::uuid, ${next.token.tokenHash}, 'challenge',
                ${next.token.expiresAt.toISOString()}::timestamptz, ${at}::timestamptz where ${gate} returning id`
          : sql`select null::uuid as id where false`
      }
    ),
    failures_cleared as (delete from login_failures where user_id = ${userId}::uuid and exists (select 1 from s)),
    a1 as (${auditInsert(
      auditEvent(
        tenantId,
        userId,
        next.kind === 'session' ? 'security.login.succeeded' : 'security.passkey.verified',
        client,
        now,
        { type: 'passkey', id: input.passkeyId },
        {
          method: 'passkey',
          user_verified: input.userVerified,
        },
      ),
      { when: gate },
    )})
    select (select count(*)::int from p) as done, s.id as s_id, s.active_organization_id as s_org, ${sessionRoleSQL(userId)} as s_role
    from (select 1) one left join s on true`);
  const row = result.rows[0] ?? {};
  return {
    done: Number(row.done) > 0,
    activeOrganizationId: row.s_org ? String(row.s_org) : null,
    role: row.s_role ? String(row.s_role) : null,
  };
}

export interface PasskeyListing {
  id: string;
  name: string;
  deviceType: string;
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

export async function listPasskeys(
  db: Database,
  tenantId: string,
  userId: string,
): Promise<PasskeyListing[]> {
  const result = await db.execute(sql`
    select id, name, device_type, backed_up, transports, created_at, last_used_at from passkeys
    where tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid order by created_at, id`);
  return result.rows.map((row) => ({
    id: String(row.id),
    name: String(row.name),
    deviceType: String(row.device_type),
    backedUp: isTrue(row.backed_up),
    transports: parseTextArray(row.transports),
    createdAt: timestamp(row.created_at),
    lastUsedAt: optionalDate(row.last_used_at),
  }));
}

export async function renamePasskey(
  db: Database,
  tenantId: string,
  userId: string,
  id: string,
  name: string,
): Promise<boolean> {
  const result = await db.execute(sql`
    update passkeys set name = ${name} where id = ${id}::uuid and tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid
    returning id`);
  return result.rows.length > 0;
}

/** Deletes one of the user's passkeys; with no factor left, the recovery codes go too. Audited. */
export async function deletePasskey(
  db: Database,
  tenantId: string,
  userId: string,
  id: string,
  now: Date,
  client: ClientInfo,
): Promise<boolean> {
  const result = await db.execute(sql`
    with gone as (
      delete from passkeys where id = ${id}::uuid and tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid returning id
    ),
    codes as (
      delete from mfa_recovery_codes where user_id = ${userId}::uuid and exists (select 1 from gone)
        and not exists (select 1 from passkeys p where p.user_id = ${userId}::uuid and p.id <> ${id}::uuid)
        and not exists (select 1 from mfa_totp x where x.user_id = ${userId}::uuid and x.confirmed_at is not null)
    ),
    a1 as (${auditInsert(auditEvent(tenantId, userId, 'security.passkey.removed', client, now, { type: 'passkey', id }), { when: sql`exists (select 1 from gone)` })})
    select count(*)::int as n from gone`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}
