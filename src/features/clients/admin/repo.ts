// The admin API's statements on oauth_clients: each one resolves the tenant (and the caller's
// tenant binding) inside itself and writes its audit event in the same statement.
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { auditInsertEach } from '../../audit/events.ts';
import type { Found } from '../../rbac/roles-repo.ts';
import { jsonRows, tenantCTE, type Listing, type Page, type TenantTarget } from '../../rbac/sql.ts';
import { CLIENT_COLUMNS, readClient, type OAuthClient } from '../repo.ts';
import type { ClientType, GrantType } from '../schema.ts';

/** `array[…]::text[]` of bound parameters (an empty list is an empty array). */
export function textArray(values: readonly string[]): SQL {
  return sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;
}

type ClientEvent = 'created' | 'updated' | 'deleted' | 'secret_rotated';

/** `audit as (…)`: one oauth.client.* event per row of `source` (aliased columns `id`). */
function auditCTE(
  target: TenantTarget,
  event: ClientEvent,
  source: string,
  at: Date,
  details: Record<string, unknown>,
): SQL {
  const insert = auditInsertEach(
    {
      type: `oauth.client.${event}`,
      actor: { type: target.actor.type, id: target.actor.id },
      target: { type: 'oauth_client', id: null },
      ip: target.actor.ip,
      userAgent: target.actor.userAgent,
      details,
      at,
    },
    sql.raw(source),
    { targetId: sql.raw(`${source}.id`), tenantId: sql`(select id from t)` },
  );
  return sql`audit as (${insert})`;
}

function tenantOf(row: Record<string, unknown> | undefined): boolean {
  return row?.tenant_id !== null && row?.tenant_id !== undefined;
}

/** One page of the tenant's clients, oldest first; null for an unknown (or not the key's) tenant. */
export async function listClients(
  db: Database,
  target: TenantTarget,
  page: Page,
): Promise<Listing<OAuthClient> | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (
      select ${CLIENT_COLUMNS} from oauth_clients oc where oc.tenant_id = (select id from t)
      order by oc.created_at, oc.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id,
      (select count(*) from oauth_clients oc where oc.tenant_id = (select id from t))::int as total,
      (select json_agg(page order by page.c_created_at, page.c_id) from page) as items`);
  const row = result.rows[0];
  if (!tenantOf(row)) return null;
  const items = jsonRows(row!.items).map((item) => readClient(item)!);
  return { items, total: Number(row!.total) };
}

export async function findTenantClient(
  db: Database,
  target: TenantTarget,
  clientId: string,
): Promise<Found<OAuthClient>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, ${CLIENT_COLUMNS}
    from (select 1) one
    left join oauth_clients oc on oc.tenant_id = (select id from t) and oc.client_id = ${clientId}`);
  const row = result.rows[0];
  if (!tenantOf(row)) return { tenant: false };
  return { tenant: true, value: readClient(row!) };
}

/** Every column an admin sets (the rest: ids, timestamps, the secret). */
export interface ClientFields {
  name: string;
  redirectURIs: string[];
  postLogoutRedirectURIs: string[];
  grantTypes: GrantType[];
  scopes: string[];
  firstParty: boolean;
  accessTokenTTLSeconds: number | null;
  idTokenTTLSeconds: number | null;
  refreshTokenTTLSeconds: number | null;
}

export interface NewClient extends ClientFields {
  id: string;
  clientId: string;
  type: ClientType;
  secretHash: string | null;
  now: Date;
}

export async function insertClient(
  db: Database,
  target: TenantTarget,
  client: NewClient,
): Promise<Found<OAuthClient>> {
  const at = client.now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    oc as (
      insert into oauth_clients (id, tenant_id, client_id, name, type, secret_hash, redirect_uris,
        post_logout_redirect_uris, grant_types, scopes, first_party, access_token_ttl_seconds,
        id_token_ttl_seconds, refresh_token_ttl_seconds, created_at, updated_at)
      select ${client.id}::uuid, t.id, ${client.clientId}, ${client.name}, ${client.type},
        ${client.secretHash}, ${textArray(client.redirectURIs)}, ${textArray(client.postLogoutRedirectURIs)},
        ${textArray(client.grantTypes)}, ${textArray(client.scopes)}, ${client.firstParty},
        ${client.accessTokenTTLSeconds}::int, ${client.idTokenTTLSeconds}::int,
        ${client.refreshTokenTTLSeconds}::int, ${at}::timestamptz, ${at}::timestamptz
      from t
      returning *
    ),
    ${auditCTE(target, 'created', 'oc', client.now, { client_id: client.clientId, type: client.type, first_party: client.firstParty })}
    select (select id from t) as tenant_id, ${CLIENT_COLUMNS} from (select 1) one left join oc on true`);
  const row = result.rows[0];
  if (!tenantOf(row)) return { tenant: false };
  return { tenant: true, value: readClient(row!) };
}

/**
 * Writes the merged registration, only if the row is still the one the service read (same
 * updated_at): a concurrent patch makes this one `stale` rather than silently undo it.
 */
export async function updateClient(
  db: Database,
  target: TenantTarget,
  current: OAuthClient,
  fields: ClientFields,
  changed: string[],
  now: Date,
): Promise<OAuthClient | 'stale'> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    oc as (
      update oauth_clients set name = ${fields.name}, redirect_uris = ${textArray(fields.redirectURIs)},
        post_logout_redirect_uris = ${textArray(fields.postLogoutRedirectURIs)},
        grant_types = ${textArray(fields.grantTypes)}, scopes = ${textArray(fields.scopes)},
        first_party = ${fields.firstParty}, access_token_ttl_seconds = ${fields.accessTokenTTLSeconds}::int,
        id_token_ttl_seconds = ${fields.idTokenTTLSeconds}::int,
        refresh_token_ttl_seconds = ${fields.refreshTokenTTLSeconds}::int,
        updated_at = ${now.toISOString()}::timestamptz
      where tenant_id = (select id from t) and id = ${current.id}::uuid
        and updated_at = ${current.updatedAt.toISOString()}::timestamptz
      returning *
    ),
    ${auditCTE(target, 'updated', 'oc', now, { client_id: current.clientId, fields: changed })}
    select ${CLIENT_COLUMNS} from oc`);
  const row = result.rows[0];
  return row === undefined ? 'stale' : readClient(row)!;
}

/** Deletes the client; its codes and consents go with it (foreign keys cascade). */
export async function deleteClient(
  db: Database,
  target: TenantTarget,
  clientId: string,
  now: Date,
): Promise<Found<true>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    oc as (
      delete from oauth_clients where tenant_id = (select id from t) and client_id = ${clientId}
      returning id
    ),
    ${auditCTE(target, 'deleted', 'oc', now, { client_id: clientId })}
    select (select id from t) as tenant_id, (select count(*) from oc)::int as deleted`);
  const row = result.rows[0];
  if (!tenantOf(row)) return { tenant: false };
  return { tenant: true, value: Number(row!.deleted) > 0 ? true : null };
}

/**
 * Replaces a confidential client's secret hash: the old secret stops verifying with this commit
 * (no grace period). `public` when the client has no secret to rotate.
 */
export async function rotateClientSecret(
  db: Database,
  target: TenantTarget,
  clientId: string,
  secretHash: string,
  now: Date,
): Promise<Found<OAuthClient | 'public'>> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    found as (
      select id, type from oauth_clients where tenant_id = (select id from t) and client_id = ${clientId}
    ),
    oc as (
      update oauth_clients set secret_hash = ${secretHash}, secret_rotated_at = ${at}::timestamptz,
        updated_at = ${at}::timestamptz
      where id = (select id from found where type = 'confidential')
      returning *
    ),
    ${auditCTE(target, 'secret_rotated', 'oc', now, { client_id: clientId })}
    select (select id from t) as tenant_id, (select type from found) as found_type, ${CLIENT_COLUMNS}
    from (select 1) one left join oc on true`);
  const row = result.rows[0];
  if (!tenantOf(row)) return { tenant: false };
  if (row!.found_type === null || row!.found_type === undefined)
    return { tenant: true, value: null };
  if (row!.found_type === 'public') return { tenant: true, value: 'public' };
  return { tenant: true, value: readClient(row!) };
}
