import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import { parseJSON } from '../tenants/repo.ts';
import { MAX_ATTRIBUTES_PER_USER, MAX_CLAIM_MAPPERS } from './claims.ts';
import { changedFields, type Found } from './roles-repo.ts';
import {
  UNIQUE_VIOLATION,
  auditCTE,
  isTrue,
  isoTime,
  jsonRows,
  tenantCTE,
  type Listing,
  type Page,
  type TenantTarget,
} from './sql.ts';

export async function listUserAttributes(
  db: Database,
  target: TenantTarget,
  userId: string,
): Promise<Found<Record<string, string>>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid)
    select (select id from t) as tenant_id, exists (select 1 from u) as user_found,
      (select json_object_agg(a.key, a.value order by a.key) from user_attributes a where a.user_id = (select id from u)) as attributes`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.user_found)) return { tenant: true, value: null };
  const parsed = parseJSON(row.attributes);
  const attributes: Record<string, string> = {};
  if (parsed !== null && typeof parsed === 'object') {
    for (const [key, value] of Object.entries(parsed)) attributes[key] = String(value);
  }
  return { tenant: true, value: attributes };
}

/** Sets one attribute. `limit` when the user already has the most attributes allowed. */
export async function setUserAttribute(
  db: Database,
  target: TenantTarget,
  userId: string,
  attribute: { key: string; value: string; now: Date },
): Promise<Found<true> | 'limit'> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    room as (
      select exists (select 1 from user_attributes where user_id = (select id from u) and key = ${attribute.key})
        or (select count(*) from user_attributes where user_id = (select id from u)) < ${MAX_ATTRIBUTES_PER_USER} as ok
    ),
    upserted as (
      insert into user_attributes (tenant_id, user_id, key, value, updated_at)
      select t.id, u.id, ${attribute.key}, ${attribute.value}, ${attribute.now.toISOString()}::timestamptz
      from t, u, room where room.ok
      on conflict (user_id, key) do update set value = excluded.value, updated_at = excluded.updated_at
      returning user_id
    ),
    ${auditCTE(target, { type: 'admin.user_attribute.set', target: 'user', at: attribute.now, details: { key: attribute.key } }, 'upserted', 'user_id')}
    select (select id from t) as tenant_id, exists (select 1 from u) as user_found,
      (select ok from room) as room, (select count(*) from upserted)::int as changed`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.user_found)) return { tenant: true, value: null };
  return isTrue(row.room) ? { tenant: true, value: true } : 'limit';
}

/** Value null: the user has no such attribute (or does not exist: see `userFound`). */
export async function deleteUserAttribute(
  db: Database,
  target: TenantTarget,
  userId: string,
  key: string,
  now: Date,
): Promise<Found<{ userFound: boolean; deleted: boolean }>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    deleted as (delete from user_attributes a using u where a.user_id = u.id and a.key = ${key} returning a.user_id),
    ${auditCTE(target, { type: 'admin.user_attribute.deleted', target: 'user', at: now, details: { key } }, 'deleted', 'user_id')}
    select (select id from t) as tenant_id, exists (select 1 from u) as user_found, (select count(*) from deleted)::int as deleted`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return {
    tenant: true,
    value: { userFound: isTrue(row.user_found), deleted: Number(row.deleted) > 0 },
  };
}

export interface ClaimMapper {
  id: string;
  attributeKey: string;
  claimName: string;
  accessToken: boolean;
  idToken: boolean;
  createdAt: string;
  updatedAt: string;
}

function readMapper(row: Record<string, unknown>): ClaimMapper {
  return {
    id: String(row.id),
    attributeKey: String(row.attribute_key),
    claimName: String(row.claim_name),
    accessToken: isTrue(row.access_token),
    idToken: isTrue(row.id_token),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

const MAPPER_COLUMNS = sql.raw(
  'c.id, c.attribute_key, c.claim_name, c.access_token, c.id_token, c.created_at, c.updated_at',
);

export async function listClaimMappers(
  db: Database,
  target: TenantTarget,
  page: Page,
): Promise<Listing<ClaimMapper> | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (
      select ${MAPPER_COLUMNS} from claim_mappers c where c.tenant_id = (select id from t)
      order by c.created_at, c.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id,
      (select count(*) from claim_mappers c where c.tenant_id = (select id from t))::int as total,
      (select json_agg(page order by page.created_at, page.id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return null;
  return { items: jsonRows(row.items).map(readMapper), total: Number(row.total) };
}

export async function findClaimMapper(
  db: Database,
  target: TenantTarget,
  mapperId: string,
): Promise<Found<ClaimMapper>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, ${MAPPER_COLUMNS}
    from (select 1) one left join claim_mappers c on c.tenant_id = (select id from t) and c.id = ${mapperId}::uuid`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: row.id === null || row.id === undefined ? null : readMapper(row) };
}

export interface NewClaimMapper {
  id: string;
  attributeKey: string;
  claimName: string;
  accessToken: boolean;
  idToken: boolean;
  now: Date;
}

/** `conflict`: the claim already has a mapper; `limit`: the tenant has the most mappers allowed. */
export async function insertClaimMapper(
  db: Database,
  target: TenantTarget,
  mapper: NewClaimMapper,
): Promise<Found<ClaimMapper> | 'conflict' | 'limit'> {
  const at = mapper.now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    room as (select count(*) < ${MAX_CLAIM_MAPPERS} as ok from claim_mappers where tenant_id = (select id from t)),
    inserted as (
      insert into claim_mappers as c (id, tenant_id, attribute_key, claim_name, access_token, id_token, created_at, updated_at)
      select ${mapper.id}::uuid, t.id, ${mapper.attributeKey}, ${mapper.claimName}, ${mapper.accessToken}, ${mapper.idToken},
        ${at}::timestamptz, ${at}::timestamptz
      from t, room where room.ok
      on conflict (tenant_id, claim_name) do nothing
      returning ${MAPPER_COLUMNS}
    ),
    ${auditCTE(target, { type: 'admin.claim_mapper.created', target: 'claim_mapper', at: mapper.now, details: { attribute_key: mapper.attributeKey, claim_name: mapper.claimName } }, 'inserted', 'id')}
    select (select id from t) as tenant_id, (select ok from room) as room, i.*
    from (select 1) one left join inserted i on true`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.room)) return 'limit';
  if (row.id === null || row.id === undefined) return 'conflict';
  return { tenant: true, value: readMapper(row) };
}

export interface ClaimMapperChanges {
  attributeKey?: string;
  claimName?: string;
  accessToken?: boolean;
  idToken?: boolean;
  now: Date;
}

/** `no_target`: the change would leave the mapper writing to neither token. */
export async function updateClaimMapper(
  db: Database,
  target: TenantTarget,
  mapperId: string,
  changes: ClaimMapperChanges,
): Promise<Found<ClaimMapper> | 'conflict' | 'no_target'> {
  try {
    const result = await db.execute(sql`
      with ${tenantCTE(target)},
      updated as (
        update claim_mappers c set attribute_key = coalesce(${changes.attributeKey ?? null}::text, c.attribute_key),
          claim_name = coalesce(${changes.claimName ?? null}::text, c.claim_name),
          access_token = coalesce(${changes.accessToken ?? null}::boolean, c.access_token),
          id_token = coalesce(${changes.idToken ?? null}::boolean, c.id_token),
          updated_at = ${changes.now.toISOString()}::timestamptz
        where c.tenant_id = (select id from t) and c.id = ${mapperId}::uuid
        returning ${MAPPER_COLUMNS}
      ),
      ${auditCTE(target, { type: 'admin.claim_mapper.updated', target: 'claim_mapper', at: changes.now, details: { fields: changedFields(changes) } }, 'updated', 'id')}
      select (select id from t) as tenant_id, u.* from (select 1) one left join updated u on true`);
    const row = result.rows[0];
    if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
    return {
      tenant: true,
      value: row.id === null || row.id === undefined ? null : readMapper(row),
    };
  } catch (error) {
    const code = pgErrorCode(error);
    if (code === UNIQUE_VIOLATION) return 'conflict';
    if (code === CHECK_VIOLATION) return 'no_target';
    throw error;
  }
}

const CHECK_VIOLATION = '23514';

export async function deleteClaimMapper(
  db: Database,
  target: TenantTarget,
  mapperId: string,
  now: Date,
): Promise<Found<true>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    deleted as (delete from claim_mappers c where c.tenant_id = (select id from t) and c.id = ${mapperId}::uuid returning c.id),
    ${auditCTE(target, { type: 'admin.claim_mapper.deleted', target: 'claim_mapper', at: now }, 'deleted', 'id')}
    select (select id from t) as tenant_id, (select count(*) from deleted)::int as deleted`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: Number(row.deleted) > 0 ? true : null };
}
