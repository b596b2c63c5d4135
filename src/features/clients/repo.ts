import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { utf8 } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, scopeTenant, tenantMatch } from '../tenants/repo.ts';
import type { ClientType, GrantType } from './schema.ts';

/** A tenant's OAuth client as the protocol code sees it (the secret only as its hash). */
export interface OAuthClient {
  /** Internal row id (foreign keys point here). */
  id: string;
  tenantId: string;
  /** The public `client_id`. */
  clientId: string;
  name: string;
  type: ClientType;
  secretHash: string | null;
  redirectURIs: string[];
  postLogoutRedirectURIs: string[];
  grantTypes: GrantType[];
  scopes: string[];
  firstParty: boolean;
  accessTokenTTLSeconds: number | null;
  idTokenTTLSeconds: number | null;
  refreshTokenTTLSeconds: number | null;
  createdAt: Date;
  updatedAt: Date;
  secretRotatedAt: Date | null;
}

/**
 * Columns a query selects (as c_*) so `readClient` can build the client from its row, for a query
 * that aliases oauth_clients as `oc`. Lets protocol statements load the client in the same round
 * trip as what they read or write.
 */
export const CLIENT_COLUMNS = sql.raw(
  [
    'oc.id as c_id',
    'oc.tenant_id as c_tenant_id',
    'oc.client_id as c_client_id',
    'oc.name as c_name',
    'oc.type as c_type',
    'oc.secret_hash as c_secret_hash',
    'oc.redirect_uris as c_redirect_uris',
    'oc.post_logout_redirect_uris as c_post_logout_redirect_uris',
    'oc.grant_types as c_grant_types',
    'oc.scopes as c_scopes',
    'oc.first_party as c_first_party',
    'oc.access_token_ttl_seconds as c_access_token_ttl_seconds',
    'oc.id_token_ttl_seconds as c_id_token_ttl_seconds',
    'oc.refresh_token_ttl_seconds as c_refresh_token_ttl_seconds',
    'oc.created_at as c_created_at',
    'oc.updated_at as c_updated_at',
    'oc.secret_rotated_at as c_secret_rotated_at',
  ].join(', '),
);

function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function optionalNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function readClient(row: Record<string, unknown>): OAuthClient | null {
  if (row.c_id === null || row.c_id === undefined) return null;
  return {
    id: String(row.c_id),
    tenantId: String(row.c_tenant_id),
    clientId: String(row.c_client_id),
    name: String(row.c_name),
    type: row.c_type === 'public' ? 'public' : 'confidential',
    secretHash:
      row.c_secret_hash === null || row.c_secret_hash === undefined
        ? null
        : String(row.c_secret_hash),
    redirectURIs: parseTextArray(row.c_redirect_uris),
    postLogoutRedirectURIs: parseTextArray(row.c_post_logout_redirect_uris),
    grantTypes: parseTextArray(row.c_grant_types) as GrantType[],
    scopes: parseTextArray(row.c_scopes),
    firstParty: row.c_first_party === true || row.c_first_party === 't',
    accessTokenTTLSeconds: optionalNumber(row.c_access_token_ttl_seconds),
    idTokenTTLSeconds: optionalNumber(row.c_id_token_ttl_seconds),
    refreshTokenTTLSeconds: optionalNumber(row.c_refresh_token_ttl_seconds),
    createdAt: date(row.c_created_at),
    updatedAt: date(row.c_updated_at),
    secretRotatedAt:
      row.c_secret_rotated_at === null || row.c_secret_rotated_at === undefined
        ? null
        : date(row.c_secret_rotated_at),
  };
}

/**
 * The tenant and one of its clients, in one round trip. `tenant` is null for an unknown tenant;
 * `client` is null when the tenant has no client with this `client_id`.
 */
export async function findClient(
  db: Database,
  scope: TenantScope,
  clientId: string,
): Promise<{ tenant: Tenant; client: OAuthClient | null } | null> {
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS}
    from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${clientId}
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const tenant = scopeTenant(scope, row);
  if (tenant === null || row === undefined) return null;
  return { tenant, client: readClient(row) };
}

/** The stored form of a client secret: SHA-256, base64url (the secret is 32 random bytes). */
export function hashClientSecret(secret: string): Promise<string> {
  return hashToken(secret);
}

/** Constant-time check of a presented secret against the stored hash. */
export async function verifyClientSecret(client: OAuthClient, presented: string): Promise<boolean> {
  if (client.secretHash === null) return false;
  const presentedHash = await hashClientSecret(presented);
  return timingSafeEqual(utf8.encode(presentedHash), utf8.encode(client.secretHash));
}

const LOOPBACK_IP = new Set(['127.0.0.1', '[::1]']);

/**
 * Redirect URIs are compared exactly, character for character: no case folding, no trailing-slash
 * or default-port normalisation, no prefix match. One exception, RFC 8252 §7.3: a registered
 * `http` loopback IP URI (127.0.0.1 or [::1], not `localhost`, §8.3) matches any port, since a
 * native app gets an ephemeral one from the OS.
 */
export function matchRedirectURI(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_IP.has(url.hostname)) return false;
  return registered.some((candidate) => {
    let reg: URL;
    try {
      reg = new URL(candidate);
    } catch {
      return false;
    }
    if (reg.protocol !== 'http:' || reg.hostname !== url.hostname) return false;
    // Same URI once both ports are dropped, compared as written after the authority.
    return withoutPort(candidate) === withoutPort(presented);
  });
}

function withoutPort(uri: string): string {
  return uri.replace(/^(http:\/\/(?:127\.0\.0\.1|\[::1\])):\d+(?=[/?#]|$)/, '$1');
}
