import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Row, SealedColumn } from './columns.ts';

const id = (name: string): SQL => sql`${sql.identifier(name)}`;

/**
 * Rows of `spec` not sealed under the root secret `keyId`: what a rotation still has to reseal.
 * `v1` envelopes (no key id, from builds before rotation) count too: they are resealed as `v2`.
 * starts_with/strpos rather than LIKE: key ids are base64url, and `_` is a LIKE wildcard.
 */
export function pendingWhere(spec: SealedColumn, keyId: string): SQL {
  const column = id(spec.column);
  if (spec.format === 'password-hash') {
    return sql`${column} like ${'pbkdf2-sha256$%$p=e1$%'} and strpos(${column}, ${`$v2.${keyId}.`}) = 0`;
  }
  return sql`${column} is not null and not starts_with(${column}, ${`v2.${keyId}.`})`;
}

/** Rows that need the user's password to move to the current key (`k1` pepper): never resealed. */
function legacyWhere(spec: SealedColumn): SQL {
  return spec.format === 'password-hash' ? sql`${id(spec.column)} like ${'%$p=k1$%'}` : sql`false`;
}

export interface PendingCount {
  table: string;
  column: string;
  pending: number;
  legacy: number;
}

/** What is left per sealed column, and whether `retiredId` is stored: one round trip. */
export async function countPending(
  db: Database,
  columns: readonly SealedColumn[],
  keyId: string,
  retiredId: string | null,
): Promise<{ counts: PendingCount[]; isRetired: boolean }> {
  const parts = columns.map(
    (spec, index) => sql`select ${index}::int as i,
      (select count(*)::int from ${id(spec.table)} where ${pendingWhere(spec, keyId)}) as pending,
      (select count(*)::int from ${id(spec.table)} where ${legacyWhere(spec)}) as legacy`,
  );
  parts.push(sql`select -1 as i,
    (select count(*)::int from retired_keys where id = ${retiredId ?? ''}) as pending, 0 as legacy`);
  const result = await db.execute(sql.join(parts, sql` union all `));
  const counts: PendingCount[] = [];
  let isRetired = false;
  for (const row of result.rows) {
    const index = Number(row.i);
    const spec = columns[index];
    if (spec === undefined) {
      isRetired = Number(row.pending) > 0;
      continue;
    }
    counts[index] = {
      table: spec.table,
      column: spec.column,
      pending: Number(row.pending),
      legacy: Number(row.legacy),
    };
  }
  return { counts, isRetired };
}

/** Up to `limit` rows still to reseal, in key order after `after`: one round trip. */
export async function readPending(
  db: Database,
  spec: SealedColumn,
  keyId: string,
  after: string | null,
  limit: number,
): Promise<Row[]> {
  const key = id(spec.key);
  const columns = [spec.key, spec.column, ...spec.contextColumns].map((name) => id(name));
  const from = after === null ? sql`true` : sql`${key}::text > ${after}`;
  const result = await db.execute(sql`
    select ${sql.join(columns, sql`, `)} from ${id(spec.table)}
    where ${pendingWhere(spec, keyId)} and ${from}
    order by ${key}::text limit ${limit}`);
  return result.rows;
}

export interface Reseal {
  key: string;
  from: string;
  to: string;
}

/**
 * Writes the resealed values, each only if the row still holds the value it was read with: a
 * concurrent tick (or a user changing their password meanwhile) wins, and nothing is overwritten.
 * One round trip; returns how many rows changed.
 */
export async function swapSealed(
  db: Database,
  spec: SealedColumn,
  reseals: Reseal[],
): Promise<number> {
  if (reseals.length === 0) return 0;
  const cast = spec.keyType === 'uuid' ? sql`::uuid` : sql``;
  const values = sql.join(
    reseals.map((r) => sql`(${r.key}${cast}, ${r.from}::text, ${r.to}::text)`),
    sql`, `,
  );
  const column = id(spec.column);
  const result = await db.execute(sql`
    update ${id(spec.table)} t set ${column} = v.sealed_to
    from (values ${values}) as v(k, sealed_from, sealed_to)
    where t.${id(spec.key)} = v.k and t.${column} = v.sealed_from`);
  return result.rowCount ?? 0;
}

/** Stores a retired key unless it already is: one round trip, idempotent. */
export async function insertRetiredKey(
  db: Database,
  key: { id: string; keyId: string; purpose: string; sealed: string },
): Promise<void> {
  await db.execute(sql`
    insert into retired_keys (id, key_id, purpose, sealed)
    values (${key.id}, ${key.keyId}, ${key.purpose}, ${key.sealed})
    on conflict (id) do nothing`);
}

export async function readRetiredKeys(
  db: Database,
  purpose: string,
): Promise<{ id: string; sealed: string }[]> {
  const result = await db.execute(
    sql`select id, sealed from retired_keys where purpose = ${purpose} order by retired_at desc`,
  );
  return result.rows.map((row) => ({ id: String(row.id), sealed: String(row.sealed) }));
}
