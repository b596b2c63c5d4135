// The sign-in flow's statements: start (one), callback (two: consume the state, then decide and
// write everything in one statement), and the signed-in user's identities.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach } from '../audit/events.ts';
import { isTrue, roleNamesSQL } from '../mfa/sql.ts';
import { MFA_POLICIES, mfaSettingsSchema } from '../mfa/settings.ts';
import type { PreparedMfaToken } from '../mfa/login-gate.ts';
import {
  SESSION_INSERT_COLUMNS,
  liveSession,
  sessionInsertValues,
  timestamp,
  type NewSession,
} from '../sessions/repo.ts';
import type { Tenant, TenantRef } from '../tenants/context.ts';
import { TENANT_COLUMNS, readTenant, tenantMatch } from '../tenants/repo.ts';
import { PROVIDER_COLUMNS, readProvider, type Provider } from './providers-repo.ts';

export interface NewState {
  id: string;
  stateHash: string;
  browserHash: string;
  codeVerifierSealed: string;
  nonce: string;
  intent: 'sign_in' | 'link';
  /**
   * intent=link: the hash of the session cookie's token. The statement finds the live session
   * (and its enabled user) itself, so linking starts in the same one round trip as sign-in.
   */
  sessionHash: string | null;
  /** '' : the tenant's default at the callback. */
  redirectTo: string;
  /** The origin of redirectTo, checked against the tenant's allowed origins in the statement. */
  redirectOrigin: string | null;
  now: Date;
  expiresAt: Date;
}

export interface StartedState {
  tenant: Tenant | null;
  provider: Provider | null;
  /** false: redirect_to's origin is not one of the tenant's: nothing was written. */
  redirectAllowed: boolean;
  /** intent=link: whether the cookie named a live session of an enabled user (else nothing written). */
  signedIn: boolean;
  stored: boolean;
}

/**
 * One round trip: the tenant, its enabled provider of that name, and the state row, written
 * only when both exist and redirect_to's origin is one of the tenant's allowed origins.
 */
export async function insertState(
  db: Database,
  ref: TenantRef,
  providerName: string,
  state: NewState,
): Promise<StartedState> {
  const linking = state.sessionHash !== null;
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(ref)}),
    fp as (select * from federation_providers fp
      where fp.tenant_id = (select id from t) and fp.name = ${providerName} and fp.enabled),
    ok as (select ${state.redirectOrigin}::text is null
      or exists (select 1 from t where ${state.redirectOrigin}::text = any(t.cors_origins)) as allowed),
    me as (
      select s.user_id from sessions s join users u on u.id = s.user_id and u.disabled_at is null
      where ${linking} and s.tenant_id = (select id from t) and s.token_hash = ${state.sessionHash ?? ''}
        and ${liveSession(state.now)}
    ),
    ins as (
      insert into federation_states (id, tenant_id, provider_id, state_hash, browser_hash,
        code_verifier_sealed, nonce, intent, user_id, redirect_to, created_at, expires_at)
      select ${state.id}::uuid, fp.tenant_id, fp.id, ${state.stateHash}, ${state.browserHash},
        ${state.codeVerifierSealed}, ${state.nonce}, ${state.intent}, (select user_id from me),
        ${state.redirectTo}, ${state.now.toISOString()}::timestamptz, ${state.expiresAt.toISOString()}::timestamptz
      from fp where (select allowed from ok) and (not ${linking} or exists (select 1 from me))
      returning id
    )
    select ${TENANT_COLUMNS}, ${PROVIDER_COLUMNS}, (select allowed from ok) as allowed,
      exists (select 1 from me) as signed_in, exists (select 1 from ins) as stored
    from (select 1) one left join t on true left join federation_providers fp on fp.id = (select id from fp)`);
  const row = result.rows[0] ?? {};
  return {
    tenant: readTenant(row),
    provider: readProvider(row),
    redirectAllowed: isTrue(row.allowed),
    signedIn: isTrue(row.signed_in),
    stored: isTrue(row.stored),
  };
}

export interface ConsumedState {
  id: string;
  codeVerifierSealed: string;
  nonce: string;
  intent: 'sign_in' | 'link';
  userId: string | null;
  redirectTo: string;
}

/**
 * Callback, first round trip: deletes the state row (single use) if its hash, the browser
 * cookie's hash, the provider and the tenant all match and it has not expired, sweeping the
 * tenant's expired rows on the way; answers the tenant and provider as they are now.
 */
export async function consumeState(
  db: Database,
  ref: TenantRef,
  providerName: string,
  hashes: { state: string; browser: string },
  now: Date,
): Promise<{ tenant: Tenant | null; provider: Provider | null; state: ConsumedState | null }> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with t as (select * from tenants t where ${tenantMatch(ref)}),
    fp0 as (select * from federation_providers where tenant_id = (select id from t) and name = ${providerName}),
    st as (
      delete from federation_states s
      where s.state_hash = ${hashes.state} and s.browser_hash = ${hashes.browser}
        and s.tenant_id = (select id from t) and s.provider_id = (select id from fp0)
        and s.expires_at > ${at}::timestamptz
      returning s.id, s.code_verifier_sealed, s.nonce, s.intent, s.user_id, s.redirect_to
    ),
    swept as (
      delete from federation_states where tenant_id = (select id from t) and expires_at <= ${at}::timestamptz
    )
    select ${TENANT_COLUMNS}, ${PROVIDER_COLUMNS}, st.id as s_id, st.code_verifier_sealed as s_verifier,
      st.nonce as s_nonce, st.intent as s_intent, st.user_id as s_user_id, st.redirect_to as s_redirect_to
    from (select 1) one left join t on true left join federation_providers fp on fp.id = (select id from fp0)
    left join st on true`);
  const row = result.rows[0] ?? {};
  const state: ConsumedState | null =
    row.s_id === null || row.s_id === undefined
      ? null
      : {
          id: String(row.s_id),
          codeVerifierSealed: String(row.s_verifier),
          nonce: String(row.s_nonce),
          intent: row.s_intent === 'link' ? 'link' : 'sign_in',
          userId: row.s_user_id === null ? null : String(row.s_user_id),
          redirectTo: String(row.s_redirect_to),
        };
  return { tenant: readTenant(row), provider: readProvider(row), state };
}

export interface FederatedOutcomeInput {
  tenantId: string;
  providerId: string;
  providerName: string;
  subject: string;
  email: string | null;
  emailNormalized: string | null;
  name: string | null;
  /** The provider asserts the address verified, and the provider is trusted to say so. */
  emailVerified: boolean;
  linkByEmail: boolean;
  registrationEnabled: boolean;
  /** The tenant requires verified addresses: a new account needs a verified one. */
  verifiedRequired: boolean;
  intent: 'sign_in' | 'link';
  linkUserId: string | null;
  newUserId: string;
  identityId: string;
  /** userId is ignored: the statement decides whose session it is. */
  session: NewSession;
  mfaToken: PreparedMfaToken;
  client: { ip: string | null; userAgent: string | null };
}

/** What the statement did. Every refusal wrote nothing but its audit event. */
export type FederatedAction =
  | 'signed_in'
  | 'created'
  | 'linked_by_email'
  | 'linked'
  | 'already_linked'
  | 'identity_in_use'
  | 'account_exists'
  | 'registration_closed'
  | 'email_required'
  | 'disabled';

export interface FederatedOutcome {
  action: FederatedAction;
  userId: string | null;
  session: { activeOrganizationId: string | null; role: string | null } | null;
  mfa: { purpose: 'challenge' | 'enroll'; hasTOTP: boolean; hasPasskey: boolean } | null;
  user: { email: string; name: string | null; emailVerified: boolean; createdAt: Date } | null;
}

const DEFAULT_MFA = mfaSettingsSchema.parse({}).mfa;

/** The statement's refusals: each writes only its `security.federation.login.failed` event. */
const REFUSED = [
  'identity_in_use',
  'account_exists',
  'registration_closed',
  'email_required',
  'disabled',
] as const satisfies readonly FederatedAction[];

/**
 * Callback, second round trip: the linking rules, decided and carried out in one statement so
 * no concurrent request can slip between the decision and the write.
 *   - intent=link: the identity joins the signed-in user, unless it belongs to someone else.
 *   - a known identity signs its user in.
 *   - a new identity whose address matches a user links only when the provider asserts the
 *     address verified and the tenant allows linking by email; otherwise `account_exists`.
 *   - otherwise a new user (registration open; a verified address if the tenant requires one).
 * A sign-in passes the same MFA gate as a password sign-in: a session, or an MFA token.
 */
export async function finishFederation(
  db: Database,
  input: FederatedOutcomeInput,
): Promise<FederatedOutcome> {
  const s = input.session;
  const at = s.now.toISOString();
  const uid = sql`(select user_id from d)`;
  const policy = sql`coalesce(t.settings->'mfa'->>'policy', ${DEFAULT_MFA.policy})`;
  const adminRoles = sql`coalesce(t.settings->'mfa'->'adminRoles', ${JSON.stringify(DEFAULT_MFA.adminRoles)}::jsonb)`;
  const firstOrg = sql`(select organization_id from memberships where user_id = ${uid} and tenant_id = ${input.tenantId}::uuid
    order by created_at, organization_id limit 1)`;
  const event = (type: string, when: string, details: Record<string, unknown>) =>
    auditInsertEach(
      {
        type: `security.${type}`,
        actor: { type: 'user' },
        target: { type: 'user', id: null },
        ip: input.client.ip,
        userAgent: input.client.userAgent,
        details: { provider: input.providerName, ...details },
        at: s.now,
      },
      sql.raw(`d where d.action in (${when})`),
      { targetId: sql`d.user_id`, tenantId: sql`${input.tenantId}::uuid`, actorId: sql`d.user_id` },
    );
  const result = await db.execute(sql`
    with ident as (
      select user_id from federated_identities where provider_id = ${input.providerId}::uuid and subject = ${input.subject}
    ),
    by_email as (
      select id from users where tenant_id = ${input.tenantId}::uuid and email_normalized = ${input.emailNormalized}::text
    ),
    d0 as (
      select case
        when ${input.intent} = 'link' then case
          when not exists (select 1 from ident) then 'linked'
          when (select user_id from ident) = ${input.linkUserId}::uuid then 'already_linked'
          else 'identity_in_use' end
        when exists (select 1 from ident) then 'signed_in'
        when exists (select 1 from by_email) then case
          when ${input.emailVerified} and ${input.linkByEmail} then 'linked_by_email' else 'account_exists' end
        when ${input.emailNormalized}::text is null then 'email_required'
        when not ${input.registrationEnabled} then 'registration_closed'
        when ${input.verifiedRequired} and not ${input.emailVerified} then 'email_required'
        else 'created' end as action
    ),
    d1 as (
      select d0.action, case d0.action
        when 'linked' then ${input.linkUserId}::uuid
        when 'already_linked' then ${input.linkUserId}::uuid
        when 'signed_in' then (select user_id from ident)
        when 'linked_by_email' then (select id from by_email)
        when 'created' then ${input.newUserId}::uuid end as user_id
      from d0
    ),
    d as (
      select case when d1.action in ('signed_in', 'linked_by_email')
          and exists (select 1 from users u where u.id = d1.user_id and u.disabled_at is not null)
        then 'disabled' else d1.action end as action, d1.user_id
      from d1
    ),
    new_user as (
      insert into users (id, tenant_id, email, email_normalized, name, password_hash, email_verified, created_at, updated_at)
      select ${input.newUserId}::uuid, ${input.tenantId}::uuid, ${input.email}::text, ${input.emailNormalized}::text,
        ${input.name}::text, null, ${input.emailVerified}, ${at}::timestamptz, ${at}::timestamptz
      from d where d.action = 'created'
      returning id
    ),
    linked as (
      insert into federated_identities (id, tenant_id, user_id, provider_id, subject, email, created_at, last_used_at)
      select ${input.identityId}::uuid, ${input.tenantId}::uuid, d.user_id, ${input.providerId}::uuid, ${input.subject},
        ${input.email}::text, ${at}::timestamptz, ${at}::timestamptz
      from d where d.action in ('created', 'linked', 'linked_by_email')
      returning id
    ),
    used as (
      update federated_identities set last_used_at = ${at}::timestamptz
      where provider_id = ${input.providerId}::uuid and subject = ${input.subject}
        and exists (select 1 from d where d.action = 'signed_in')
    ),
    signs_in as (select d.user_id from d where d.action in ('signed_in', 'created', 'linked_by_email')),
    f as (
      select
        exists (select 1 from mfa_totp x where x.user_id = ${uid} and x.confirmed_at is not null) as has_totp,
        exists (select 1 from passkeys p where p.user_id = ${uid}) as has_passkey,
        (${policy} = ${MFA_POLICIES[1]} or (${policy} = ${MFA_POLICIES[2]} and exists (
          select 1 from json_array_elements_text(${roleNamesSQL(uid)}) r
          where r.value in (select jsonb_array_elements_text(${adminRoles}))))) as required
      from tenants t where t.id = ${input.tenantId}::uuid
    ),
    due as (
      select case when f.has_totp or f.has_passkey then 'challenge' when f.required then 'enroll' end as purpose from f
    ),
    s as (
      insert into ${SESSION_INSERT_COLUMNS}
      ${sessionInsertValues(s, uid, firstOrg)}
      where exists (select 1 from signs_in) and not exists (select 1 from due where purpose is not null)
      returning id, active_organization_id
    ),
    k as (
      insert into mfa_tokens (id, tenant_id, user_id, token_hash, purpose, expires_at, created_at)
      select ${input.mfaToken.id}::uuid, ${input.tenantId}::uuid, ${uid}, ${input.mfaToken.tokenHash}, due.purpose,
        ${input.mfaToken.expiresAt.toISOString()}::timestamptz, ${at}::timestamptz
      from due where due.purpose is not null and exists (select 1 from signs_in)
      returning purpose
    ),
    a1 as (${event('federation.signed_in', "'signed_in', 'created', 'linked_by_email'", { session_id: s.id, amr: s.amr })}),
    a2 as (${event('federation.identity_linked', "'linked', 'linked_by_email'", { subject: input.subject })}),
    a3 as (${event('user.registered', "'created'", { provider: input.providerName })}),
    ${sql.join(
      REFUSED.map(
        (reason) =>
          sql`${sql.raw(`f_${reason}`)} as (${auditInsertEach(
            {
              type: 'security.federation.login.failed',
              actor: { type: 'anonymous' },
              target: { type: 'user', id: null },
              ip: input.client.ip,
              userAgent: input.client.userAgent,
              details: { provider: input.providerName, intent: input.intent, reason },
              at: s.now,
            },
            sql.raw(`d where d.action = '${reason}'`),
            {
              targetId: sql`d.user_id`,
              tenantId: sql`${input.tenantId}::uuid`,
              actorId: sql`null`,
            },
          )})`,
      ),
      sql`, `,
    )}
    select d.action, d.user_id, s.active_organization_id as s_org,
      (select m.role from memberships m join s on m.organization_id = s.active_organization_id where m.user_id = d.user_id) as s_role,
      (select purpose from k) as purpose, f.has_totp, f.has_passkey,
      coalesce(u.email, ${input.email}::text) as u_email, coalesce(u.name, ${input.name}::text) as u_name,
      coalesce(u.email_verified, ${input.emailVerified}) as u_verified, coalesce(u.created_at, ${at}::timestamptz) as u_created_at
    from d cross join f left join s on true left join users u on u.id = d.user_id`);
  const row = result.rows[0] ?? {};
  const action = String(row.action) as FederatedAction;
  const userId = row.user_id === null || row.user_id === undefined ? null : String(row.user_id);
  const purpose = row.purpose === 'challenge' || row.purpose === 'enroll' ? row.purpose : null;
  const signedIn = ['signed_in', 'created', 'linked_by_email'].includes(action);
  return {
    action,
    userId,
    session:
      signedIn && purpose === null
        ? {
            activeOrganizationId: row.s_org ? String(row.s_org) : null,
            role: row.s_role ? String(row.s_role) : null,
          }
        : null,
    mfa:
      purpose === null
        ? null
        : { purpose, hasTOTP: isTrue(row.has_totp), hasPasskey: isTrue(row.has_passkey) },
    user:
      userId === null
        ? null
        : {
            email: String(row.u_email),
            name: row.u_name === null || row.u_name === undefined ? null : String(row.u_name),
            emailVerified: isTrue(row.u_verified),
            createdAt: timestamp(row.u_created_at),
          },
  };
}

/** The hosted sign-in page's one round trip: the tenant and the names of its enabled providers. */
export async function findTenantWithProviders(
  db: Database,
  ref: TenantRef,
): Promise<{ tenant: Tenant | null; providers: string[] }> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, (select coalesce(json_agg(fp.name order by fp.created_at, fp.name), '[]'::json)
      from federation_providers fp where fp.tenant_id = t.id and fp.enabled) as providers
    from tenants t where ${tenantMatch(ref)}`);
  const row = result.rows[0];
  if (row === undefined) return { tenant: null, providers: [] };
  const parsed: unknown =
    typeof row.providers === 'string' ? JSON.parse(row.providers) : row.providers;
  return { tenant: readTenant(row), providers: Array.isArray(parsed) ? parsed.map(String) : [] };
}

export interface LinkedIdentity {
  id: string;
  provider: string;
  kind: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** The user's identities: one round trip. */
export async function listIdentities(db: Database, userId: string): Promise<LinkedIdentity[]> {
  const result = await db.execute(sql`
    select fi.id, fp.name, fp.kind, fi.email, fi.created_at, fi.last_used_at
    from federated_identities fi join federation_providers fp on fp.id = fi.provider_id
    where fi.user_id = ${userId}::uuid order by fi.created_at, fi.id`);
  return result.rows.map((row) => ({
    id: String(row.id),
    provider: String(row.name),
    kind: String(row.kind),
    email: row.email === null ? null : String(row.email),
    createdAt: timestamp(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : timestamp(row.last_used_at),
  }));
}

/**
 * Unlinks one identity in one statement, only if the user keeps another way to sign in (a
 * password, a passkey or another identity). `missing` / `last` otherwise, nothing written.
 */
export async function unlinkIdentity(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    identityId: string;
    now: Date;
    client: { ip: string | null; userAgent: string | null };
  },
): Promise<'unlinked' | 'missing' | 'last'> {
  const result = await db.execute(sql`
    with target as (
      select fi.id, fp.name from federated_identities fi join federation_providers fp on fp.id = fi.provider_id
      where fi.id = ${input.identityId}::uuid and fi.user_id = ${input.userId}::uuid
    ),
    other as (
      select (exists (select 1 from users where id = ${input.userId}::uuid and password_hash is not null)
        or exists (select 1 from passkeys where user_id = ${input.userId}::uuid)
        or exists (select 1 from federated_identities where user_id = ${input.userId}::uuid
          and id <> ${input.identityId}::uuid)) as kept
    ),
    gone as (
      delete from federated_identities where id = (select id from target) and (select kept from other)
      returning id
    ),
    audit as (${auditInsertEach(
      {
        type: 'security.federation.identity_unlinked',
        actor: { type: 'user', id: input.userId },
        target: { type: 'user', id: null },
        ip: input.client.ip,
        userAgent: input.client.userAgent,
        details: { identity_id: input.identityId },
        at: input.now,
      },
      sql`gone`,
      { targetId: sql`${input.userId}::text`, tenantId: sql`${input.tenantId}::uuid` },
    )})
    select exists (select 1 from target) as found, (select kept from other) as kept,
      exists (select 1 from gone) as gone`);
  const row = result.rows[0] ?? {};
  if (isTrue(row.gone)) return 'unlinked';
  return isTrue(row.found) ? 'last' : 'missing';
}
