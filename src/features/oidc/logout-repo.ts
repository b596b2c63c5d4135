import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import { CLIENT_COLUMNS, readClient, type OAuthClient } from '../clients/repo.ts';
import { liveSession } from '../sessions/repo.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { parseJSONArray } from './claims.ts';

export interface LogoutContext {
  tenant: Tenant;
  keys: JWK[];
  client: OAuthClient | null;
  /** The cookie's live session. */
  session: { id: string; userId: string } | null;
}

/** One read: tenant, published keys, the named client and the cookie's session. */
export async function loadLogoutContext(
  db: Database,
  scope: TenantScope,
  clientId: string,
  sessionHash: string,
  now: Date,
): Promise<LogoutContext | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS}, s.id as s_id, s.user_id as s_user_id,
      (select coalesce(json_agg(sk.public_jwk), '[]'::json) from signing_keys sk
        where sk.tenant_id = t.id and sk.status in ('active', 'published')) as jwks
    from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${clientId}
    left join sessions s on s.tenant_id = t.id and s.token_hash = ${sessionHash} and ${liveSession(now)}
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  return {
    tenant,
    keys: parseJSONArray(row.jwks) as JWK[],
    client: readClient(row),
    session:
      row.s_id === null || row.s_id === undefined
        ? null
        : { id: String(row.s_id), userId: String(row.s_user_id) },
  };
}

/** Ends the SSO session and every refresh token of its family (OIDC grants included). */
export async function endSession(
  db: Database,
  tenantId: string,
  sessionId: string,
  now: Date,
  audit: AuditEvent,
): Promise<void> {
  const at = now.toISOString();
  await db.execute(sql`
    with revoked as (
      update sessions set revoked_at = ${at}::timestamptz
      where id = ${sessionId}::uuid and tenant_id = ${tenantId}::uuid and revoked_at is null
      returning id
    ),
    tokens as (
      update refresh_tokens set revoked_at = ${at}::timestamptz
      where session_id in (select id from revoked) and revoked_at is null
    )
    ${auditInsert(audit, { when: sql`exists (select 1 from revoked)` })}`);
}
