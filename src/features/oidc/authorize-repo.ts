import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert } from '../audit/events.ts';
import { CLIENT_COLUMNS, readClient, type OAuthClient } from '../clients/repo.ts';
import { liveSession, timestamp } from '../sessions/repo.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, scopeTenant, tenantMatch } from '../tenants/repo.ts';

/** The browser (SSO) session behind an authorization request. */
export interface SSOSession {
  id: string;
  userId: string;
  /** When the user signed in: `auth_time`. */
  createdAt: Date;
  amr: string[];
}

export interface AuthorizeContext {
  tenant: Tenant;
  client: OAuthClient | null;
  session: SSOSession | null;
  /** Scopes the user has agreed this client may have (empty: none yet). */
  consentedScopes: string[];
}

/**
 * The one read of /oauth2/authorize: tenant, client, the cookie's live session and its user, and
 * the user's consent for the client. Null for an unknown tenant.
 */
export async function loadAuthorizeContext(
  db: Database,
  scope: TenantScope,
  clientId: string,
  sessionTokenHash: string,
  now: Date,
): Promise<AuthorizeContext | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS},
      s.id as s_id, s.created_at as s_created_at, s.amr as s_amr, u.id as u_id,
      cs.scopes as consent_scopes
    from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${clientId}
    left join sessions s on s.tenant_id = t.id and s.token_hash = ${sessionTokenHash} and ${liveSession(now)}
    left join users u on u.id = s.user_id and u.disabled_at is null
    left join oauth_consents cs on cs.client_id = oc.id and cs.user_id = u.id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const hasSession = row.u_id !== null && row.u_id !== undefined;
  return {
    tenant,
    client: readClient(row),
    session: hasSession
      ? {
          id: String(row.s_id),
          userId: String(row.u_id),
          createdAt: timestamp(row.s_created_at),
          amr: parseTextArray(row.s_amr),
        }
      : null,
    consentedScopes: parseTextArray(row.consent_scopes),
  };
}

export interface NewCode {
  id: string;
  tenantId: string;
  codeHash: string;
  clientId: string;
  session: SSOSession;
  redirectURI: string;
  scopes: string[];
  nonce: string | null;
  codeChallenge: string | null;
  now: Date;
  expiresAt: Date;
}

/**
 * The one write of /oauth2/authorize: the code's hash, its `oauth.authorize` event and the
 * session's last-seen time.
 */
export async function insertCode(
  db: Database,
  code: NewCode,
  client: { ip: string | null; userAgent: string | null },
): Promise<void> {
  const at = code.now.toISOString();
  await db.execute(sql`
    with inserted as (
      insert into oauth_codes (id, tenant_id, code_hash, client_id, user_id, session_id, redirect_uri,
        scopes, nonce, code_challenge, auth_time, amr, created_at, expires_at)
      values (${code.id}::uuid, ${code.tenantId}::uuid, ${code.codeHash}, ${code.clientId}::uuid,
        ${code.session.userId}::uuid, ${code.session.id}::uuid, ${code.redirectURI},
        ${textArray(code.scopes)}, ${code.nonce}, ${code.codeChallenge},
        ${code.session.createdAt.toISOString()}::timestamptz, ${textArray(code.session.amr)},
        ${at}::timestamptz, ${code.expiresAt.toISOString()}::timestamptz)
      returning id
    ),
    -- Signing in to an application is use of the SSO session: extend its idle lifetime as any
    -- authenticated request does (sessions/repo.ts loadSession).
    touched as (
      update sessions set last_seen_at = ${at}::timestamptz,
        idle_expires_at = least(${at}::timestamptz + make_interval(secs => idle_ttl_seconds), expires_at)
      where id = ${code.session.id}::uuid
    )
    ${auditInsert({
      tenantId: code.tenantId,
      type: 'oauth.authorize',
      actor: { type: 'user', id: code.session.userId },
      target: { type: 'oauth_client', id: code.clientId },
      ip: client.ip,
      userAgent: client.userAgent,
      details: { scopes: code.scopes, session_id: code.session.id },
      at: code.now,
    })}`);
}

/** A text[] value, each element its own parameter. */
export function textArray(values: readonly string[]): SQL {
  return sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;
}
