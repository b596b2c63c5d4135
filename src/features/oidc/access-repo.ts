import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import type { Database } from '../../db/client.ts';
import { CLIENT_COLUMNS, readClient, type OAuthClient } from '../clients/repo.ts';
import { liveSession, timestamp } from '../sessions/repo.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import { USER_CLAIM_COLUMNS, parseJSONArray, readClaimsUser, type ClaimsUser } from './claims.ts';

/** An access token's grant as the database has it now. */
export interface GrantState {
  id: string;
  /** The public client_id the grant was made to. */
  clientId: string;
  /** Not revoked, its SSO session live, its user enabled. */
  live: boolean;
  user: ClaimsUser | null;
}

/** A refresh token as the database has it now. */
export interface RefreshState {
  /** Usable right now (issued by the OIDC endpoint, unrevoked, unrotated, unexpired, grant live). */
  active: boolean;
  clientInternalId: string | null;
  clientId: string | null;
  grantId: string | null;
  userId: string | null;
  sessionId: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
}

export interface TokenState {
  tenant: Tenant;
  /** The calling client (introspection, revocation), unauthenticated yet. */
  caller: OAuthClient | null;
  /** The tenant's published keys, to verify a JWT against. */
  keys: JWK[];
  grant: GrantState | null;
  refresh: RefreshState | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One round trip: the tenant, the caller, the keys, the grant an access token names (by `gid`,
 * not yet verified: the caller verifies the JWT with the keys read here) and the refresh token
 * with this hash. Userinfo, introspection and revocation all start here.
 */
export async function loadTokenState(
  db: Database,
  scope: TenantScope,
  input: { callerClientId: string; grantId: string | null; refreshHash: string; now: Date },
): Promise<TokenState | null> {
  const at = input.now.toISOString();
  const grantId = input.grantId !== null && UUID.test(input.grantId) ? input.grantId : null;
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS}, ${USER_CLAIM_COLUMNS},
      (select coalesce(json_agg(sk.public_jwk), '[]'::json) from signing_keys sk
        where sk.tenant_id = t.id and sk.status in ('active', 'published')) as jwks,
      g.id as g_id, gc.client_id as g_client_id,
      (g.revoked_at is null and s.id is not null and u.id is not null) as g_live,
      r.id as r_id, r.client_id as r_client_internal_id, rc.client_id as r_client_id,
      r.code_id as r_code_id, rs.user_id as r_user_id, r.session_id as r_session_id,
      r.scopes as r_scopes, r.created_at as r_created_at, r.expires_at as r_expires_at,
      (r.client_id is not null and r.revoked_at is null and r.rotated_at is null
        and r.expires_at > ${at}::timestamptz and rg.revoked_at is null and rs.id is not null) as r_active
    from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${input.callerClientId}
    left join oauth_codes g on g.tenant_id = t.id and g.id = ${grantId}::uuid
    left join oauth_clients gc on gc.id = g.client_id
    left join sessions s on s.id = g.session_id and ${liveSession(input.now)}
    left join users u on u.id = s.user_id and u.disabled_at is null
    left join refresh_tokens r on r.tenant_id = t.id and r.token_hash = ${input.refreshHash}
    left join oauth_clients rc on rc.id = r.client_id
    left join oauth_codes rg on rg.id = r.code_id
    left join sessions rs on rs.id = r.session_id and rs.revoked_at is null
      and rs.expires_at > ${at}::timestamptz and rs.idle_expires_at > ${at}::timestamptz
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (row === undefined || tenant === null) return null;
  const isTrue = (value: unknown): boolean => value === true || value === 't';
  const text = (value: unknown): string | null =>
    value === null || value === undefined ? null : String(value);
  return {
    tenant,
    caller: readClient(row),
    keys: parseJSONArray(row.jwks) as JWK[],
    grant:
      row.g_id === null || row.g_id === undefined
        ? null
        : {
            id: String(row.g_id),
            clientId: String(row.g_client_id),
            live: isTrue(row.g_live),
            user: readClaimsUser(row),
          },
    refresh:
      row.r_id === null || row.r_id === undefined
        ? null
        : {
            active: isTrue(row.r_active),
            clientInternalId: text(row.r_client_internal_id),
            clientId: text(row.r_client_id),
            grantId: text(row.r_code_id),
            userId: text(row.r_user_id),
            sessionId: String(row.r_session_id),
            scopes: parseTextArray(row.r_scopes),
            createdAt: timestamp(row.r_created_at),
            expiresAt: timestamp(row.r_expires_at),
          },
  };
}
