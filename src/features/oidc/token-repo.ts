import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import { CLIENT_COLUMNS, readClient, type OAuthClient } from '../clients/repo.ts';
import { liveSession, readKey, timestamp, type ActiveKey } from '../sessions/repo.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { textArray } from './authorize-repo.ts';
import { USER_CLAIM_COLUMNS, readClaimsUser, type ClaimsUser } from './claims.ts';

export interface TokenContext {
  tenant: Tenant;
  /** The client the request names (not yet authenticated). */
  client: OAuthClient | null;
  key: ActiveKey | null;
}

const KEY_COLUMNS = sql.raw('k.kid as k_kid, k.alg as k_alg, k.private_key as k_private_key');

/** tenants t, the named client oc and the active key k, for the grant's own joins to extend. */
function contextFrom(scope: TenantScope, clientId: string, joins: SQL): SQL {
  return sql`from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${clientId}
    left join signing_keys k on k.tenant_id = t.id and k.status = 'active'
    ${joins}
    where ${tenantMatch(scope.ref)}`;
}

export function readContext(
  scope: TenantScope,
  row: Record<string, unknown> | undefined,
): TokenContext | null {
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return { tenant, client: readClient(row), key: readKey(row) };
}

/** client_credentials: tenant, client and key. */
export async function loadClientContext(
  db: Database,
  scope: TenantScope,
  clientId: string,
): Promise<TokenContext | null> {
  const result = await db.execute(
    sql`select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS}, ${KEY_COLUMNS} ${contextFrom(scope, clientId, sql``)}`,
  );
  return readContext(scope, result.rows[0]);
}

export interface CodeRow {
  id: string;
  clientId: string;
  sessionId: string;
  redirectURI: string;
  scopes: string[];
  nonce: string | null;
  codeChallenge: string | null;
  authTime: Date;
  amr: string[];
  expiresAt: Date;
  used: boolean;
  revoked: boolean;
}

export interface CodeGrant extends TokenContext {
  code: CodeRow | null;
  /** The code's user, if still enabled and its SSO session still live. */
  user: ClaimsUser | null;
  sessionExpiresAt: Date | null;
}

/** The first of the exchange's two round trips: everything needed to check and mint. */
export async function loadCodeGrant(
  db: Database,
  scope: TenantScope,
  clientId: string,
  codeHash: string,
  now: Date,
): Promise<CodeGrant | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS}, ${KEY_COLUMNS}, ${USER_CLAIM_COLUMNS},
      c.id as code_id, c.client_id as code_client_id, c.session_id as code_session_id,
      c.redirect_uri as code_redirect_uri, c.scopes as code_scopes, c.nonce as code_nonce,
      c.code_challenge as code_challenge, c.auth_time as code_auth_time, c.amr as code_amr,
      c.expires_at as code_expires_at, c.used_at as code_used_at, c.revoked_at as code_revoked_at,
      s.expires_at as s_expires_at
    ${contextFrom(
      scope,
      clientId,
      sql`left join oauth_codes c on c.tenant_id = t.id and c.code_hash = ${codeHash}
      left join sessions s on s.id = c.session_id and ${liveSession(now)}
      left join users u on u.id = s.user_id and u.disabled_at is null`,
    )}`);
  const row = result.rows[0];
  const context = readContext(scope, row);
  if (context === null || row === undefined) return null;
  const code: CodeRow | null =
    row.code_id === null || row.code_id === undefined
      ? null
      : {
          id: String(row.code_id),
          clientId: String(row.code_client_id),
          sessionId: String(row.code_session_id),
          redirectURI: String(row.code_redirect_uri),
          scopes: parseTextArray(row.code_scopes),
          nonce: row.code_nonce === null ? null : String(row.code_nonce),
          codeChallenge: row.code_challenge === null ? null : String(row.code_challenge),
          authTime: timestamp(row.code_auth_time),
          amr: parseTextArray(row.code_amr),
          expiresAt: timestamp(row.code_expires_at),
          used: row.code_used_at !== null,
          revoked: row.code_revoked_at !== null,
        };
  const user = readClaimsUser(row);
  return {
    ...context,
    code,
    user,
    sessionExpiresAt: user === null ? null : timestamp(row.s_expires_at),
  };
}

export interface IssuedRefreshToken {
  id: string;
  tokenHash: string;
  expiresAt: Date;
}

/**
 * The exchange's write: marks the code used (only if still unused: the row lock decides a race),
 * stores the refresh token if any, audits `oauth.token`. False when the code was used meanwhile.
 */
export async function redeemCode(
  db: Database,
  input: {
    tenantId: string;
    code: CodeRow;
    refresh: IssuedRefreshToken | null;
    now: Date;
    audit: AuditEvent;
  },
): Promise<boolean> {
  const at = input.now.toISOString();
  const refresh = input.refresh;
  const result = await db.execute(sql`
    with used as (
      update oauth_codes set used_at = ${at}::timestamptz
      where id = ${input.code.id}::uuid and tenant_id = ${input.tenantId}::uuid
        and used_at is null and revoked_at is null
      returning id
    ),
    refresh as (
      insert into refresh_tokens (id, tenant_id, session_id, token_hash, created_at, expires_at,
        client_id, code_id, scopes)
      select ${refresh?.id ?? null}::uuid, ${input.tenantId}::uuid, ${input.code.sessionId}::uuid,
        ${refresh?.tokenHash ?? null}, ${at}::timestamptz,
        ${refresh?.expiresAt.toISOString() ?? null}::timestamptz, ${input.code.clientId}::uuid,
        used.id, ${textArray(input.code.scopes)}
      from used where ${sql.raw(refresh === null ? 'false' : 'true')}
    ),
    audit as (${auditInsert(input.audit, { when: sql`exists (select 1 from used)` })})
    select count(*)::int as redeemed from used`);
  return Number(result.rows[0]?.redeemed ?? 0) > 0;
}

/**
 * Revokes a grant: the code's row (its access tokens then introspect inactive) and every refresh
 * token issued from it, with one audit event, in one statement.
 */
export async function revokeGrant(
  db: Database,
  tenantId: string,
  grantId: string,
  now: Date,
  audit: AuditEvent,
): Promise<void> {
  const at = now.toISOString();
  await db.execute(sql`
    with grant_revoked as (
      update oauth_codes set revoked_at = coalesce(revoked_at, ${at}::timestamptz)
      where id = ${grantId}::uuid and tenant_id = ${tenantId}::uuid
      returning id
    ),
    tokens as (
      update refresh_tokens set revoked_at = ${at}::timestamptz
      where code_id in (select id from grant_revoked) and revoked_at is null
    )
    ${auditInsert(audit, { when: sql`exists (select 1 from grant_revoked)` })}`);
}

/**
 * Every grant of one user to one client (consent withdrawn): codes marked revoked, their refresh
 * tokens revoked. Called by the consents API.
 */
export async function revokeClientGrants(
  db: Database,
  tenantId: string,
  userId: string,
  clientInternalId: string,
  now: Date = new Date(),
): Promise<number> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with grants as (
      update oauth_codes set revoked_at = coalesce(revoked_at, ${at}::timestamptz)
      where tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid
        and client_id = ${clientInternalId}::uuid
      returning id
    ),
    tokens as (
      update refresh_tokens set revoked_at = ${at}::timestamptz
      where code_id in (select id from grants) and revoked_at is null
      returning id
    )
    select count(*)::int as revoked from tokens`);
  return Number(result.rows[0]?.revoked ?? 0);
}
