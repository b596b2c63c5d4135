import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach, type AuditEvent } from '../audit/events.ts';
import { parseTextArray } from '../tenants/repo.ts';
import { timestamp } from '../sessions/repo.ts';
import { isScope, type Scope } from './scopes.ts';

/** last_used_at is written at most this often, inside the authenticating query. */
const TOUCH_INTERVAL_SECONDS = 60;

export interface APIKeyRecord {
  id: string;
  name: string;
  keyPrefix: string;
  scopes: Scope[];
  tenantId: string | null;
  tenantSlug: string | null;
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

function optionalDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : timestamp(value);
}

function readKey(row: Record<string, unknown>): APIKeyRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    keyPrefix: String(row.key_prefix),
    scopes: parseTextArray(row.scopes).filter(isScope),
    tenantId: row.tenant_id === null || row.tenant_id === undefined ? null : String(row.tenant_id),
    tenantSlug:
      row.tenant_slug === null || row.tenant_slug === undefined ? null : String(row.tenant_slug),
    createdBy:
      row.created_by === null || row.created_by === undefined ? null : String(row.created_by),
    createdAt: timestamp(row.created_at),
    expiresAt: optionalDate(row.expires_at),
    lastUsedAt: optionalDate(row.last_used_at),
    revokedAt: optionalDate(row.revoked_at),
  };
}

const KEY_COLUMNS = sql.raw(
  'a.id, a.name, a.key_prefix, a.scopes, a.tenant_id, t.slug as tenant_slug, a.created_by, a.created_at, a.expires_at, a.last_used_at, a.revoked_at',
);

/**
 * The key check in one round trip: the key (with its tenant's slug) by hash, and, when it is
 * usable and its last use is over a minute old, last_used_at moved to now in the same statement.
 */
export async function loadAPIKey(
  db: Database,
  keyHash: string,
  now: Date,
): Promise<APIKeyRecord | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with found as (
      select ${KEY_COLUMNS} from api_keys a left join tenants t on t.id = a.tenant_id
      where a.key_hash = ${keyHash}
    ),
    touched as (
      update api_keys set last_used_at = ${at}::timestamptz
      where id = (select id from found where revoked_at is null and (expires_at is null or expires_at > ${at}::timestamptz))
        and (last_used_at is null or last_used_at < ${at}::timestamptz - make_interval(secs => ${TOUCH_INTERVAL_SECONDS}))
    )
    select * from found`);
  const row = result.rows[0];
  return row === undefined ? null : readKey(row);
}

export interface NewAPIKey {
  id: string;
  name: string;
  keyHash: string;
  keyPrefix: string;
  scopes: Scope[];
  tenantSlug: string | null;
  createdBy: string;
  now: Date;
  expiresAt: Date | null;
}

/** Stores a key, resolving its tenant by slug in the same statement; null: no such tenant. */
export async function insertAPIKey(
  db: Database,
  key: NewAPIKey,
  event: AuditEvent,
): Promise<APIKeyRecord | null> {
  const scopes = sql`array[${sql.join(
    key.scopes.map((scope) => sql`${scope}`),
    sql`, `,
  )}]::text[]`;
  const result = await db.execute(sql`
    with t as (select id, slug from tenants where slug = ${key.tenantSlug}),
    a as (
      insert into api_keys (id, name, key_hash, key_prefix, scopes, tenant_id, created_by, created_at, expires_at)
      select ${key.id}::uuid, ${key.name}, ${key.keyHash}, ${key.keyPrefix}, ${scopes},
        (select id from t), ${key.createdBy}::uuid, ${key.now.toISOString()}::timestamptz, ${key.expiresAt?.toISOString() ?? null}::timestamptz
      where ${key.tenantSlug}::text is null or exists (select 1 from t)
      returning *
    ),
    audit as (${auditInsertEach(event, sql`a`, { targetId: sql`a.id` })})
    select ${KEY_COLUMNS} from a left join t on t.id = a.tenant_id`);
  const row = result.rows[0];
  return row === undefined ? null : readKey(row);
}

export async function listAPIKeys(
  db: Database,
  page: { limit: number; offset: number },
): Promise<{ keys: APIKeyRecord[]; total: number }> {
  const result = await db.execute(sql`
    select ${KEY_COLUMNS}, count(*) over ()::int as total
    from api_keys a left join tenants t on t.id = a.tenant_id
    order by a.created_at, a.id
    limit ${page.limit} offset ${page.offset}`);
  const total =
    result.rows[0] === undefined ? await countAPIKeys(db) : Number(result.rows[0].total);
  return { keys: result.rows.map(readKey), total };
}

async function countAPIKeys(db: Database): Promise<number> {
  const result = await db.execute(sql`select count(*)::int as n from api_keys`);
  return Number(result.rows[0]?.n ?? 0);
}

export async function revokeAPIKey(
  db: Database,
  id: string,
  now: Date,
  event: AuditEvent,
): Promise<APIKeyRecord | null> {
  const result = await db.execute(sql`
    with a as (
      update api_keys set revoked_at = coalesce(revoked_at, ${now.toISOString()}::timestamptz)
      where id = ${id}::uuid
      returning *
    ),
    audit as (${auditInsertEach(event, sql`a`, { targetId: sql`a.id` })})
    select ${KEY_COLUMNS} from a left join tenants t on t.id = a.tenant_id`);
  const row = result.rows[0];
  return row === undefined ? null : readKey(row);
}
