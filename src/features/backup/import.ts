// Import: a bkp1 archive back into tenant rows, all or nothing.
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from '../../db/client.ts';
import type { Random } from '../../deps.ts';
import type { Config } from '../../env.ts';
import { AppError } from '../../errors.ts';
import type { Pbkdf2SHA256 } from '../../lib/pbkdf2.ts';
import { auditInsert, type ActorType } from '../audit/events.ts';
import { sealChain } from '../audit/service.ts';
import { SLUG } from '../tenants/context.ts';
import {
  openConnection,
  quoteIdentifier,
  readSchemaVersion,
  type Connection,
} from './connection.ts';
import { toAppError } from './errors-http.ts';
import { assertPassphrase } from './export.ts';
import { openArchive, type ArchiveMetadata } from './format.ts';
import {
  TABLES,
  TABLES_BY_NAME,
  createIdRemapper,
  createSecretCodec,
  remapRow,
  type IdRemapper,
  type Row,
  type TableSpec,
} from './tables.ts';

export interface ImportDeps {
  config: Pick<Config, 'databaseURL' | 'dev' | 'secretKey'>;
  /** The HTTP database, for sealing the audit chain after the commit. */
  db: Database;
  random: Random;
}

export interface ImportOptions {
  /** Import under this slug: a copy with new ids. Default: the archive's slug, ids kept. */
  slug?: string;
  actor: { type: ActorType; id?: string | null; ip?: string | null; userAgent?: string | null };
  now: Date;
  kdf?: Pbkdf2SHA256;
  /** Rows per INSERT (default 500). */
  batchRows?: number;
  onProgress?: (progress: { table: string; rows: number }) => void;
}

export interface ImportResult {
  tenant: { id: string; slug: string; name: string };
  /** `restore`: same slug, every id kept. `copy`: another slug, new ids. */
  mode: 'restore' | 'copy';
  rows: Record<string, number>;
  archive: { slug: string; schemaVersion: number; exportedAt: Date };
}

const DEFAULT_BATCH_ROWS = 500;
/** Flush a batch at this many bytes of JSON too, so wide rows keep statements small. */
const BATCH_BYTES = 1024 * 1024;

/**
 * Reads the archive and writes its rows in ONE interactive transaction, committed only after
 * the reader verified the final segment: records are released segment by segment, before the
 * end of the file is authenticated, so anything inserted is provisional until then. This is the
 * one place an interactive transaction is justified: `db.batch` is atomic but needs every
 * statement up front, which a 100,000-user tenant cannot afford in 128 MB.
 */
export async function importTenant(
  deps: ImportDeps,
  source: ReadableStream<Uint8Array>,
  passphrase: string,
  options: ImportOptions,
): Promise<ImportResult> {
  try {
    assertPassphrase(passphrase);
  } catch (error) {
    await source.cancel().catch(() => undefined);
    throw error;
  }
  if (options.slug !== undefined && !SLUG.test(options.slug)) {
    await source.cancel().catch(() => undefined);
    throw new AppError('invalid_request', 'slug must match ^[a-z0-9][a-z0-9-]{1,49}$');
  }
  let archive: Awaited<ReturnType<typeof openArchive>>;
  try {
    archive = await openArchive(
      source,
      passphrase,
      options.kdf === undefined ? {} : { kdf: options.kdf },
    );
  } catch (error) {
    throw toAppError(error);
  }
  let connection: Connection | undefined;
  try {
    connection = await openConnection(deps.config);
    const result = await importRecords(deps, connection, archive, options);
    await connection.close();
    // The copy's chain, and the import's own event, are sealed now rather than at the next tick.
    const auditDeps = { db: deps.db, secretKey: deps.config.secretKey };
    for (let i = 0; i < 100 && (await sealChain(auditDeps, result.tenant.id)) > 0; i++);
    return result;
  } catch (error) {
    await archive.cancel();
    throw toAppError(error);
  } finally {
    await connection?.close();
  }
}

async function importRecords(
  deps: ImportDeps,
  connection: Connection,
  archive: { metadata: ArchiveMetadata; records(): AsyncGenerator<{ table: string; row: Row }> },
  options: ImportOptions,
): Promise<ImportResult> {
  const { metadata } = archive;
  const targetVersion = await readSchemaVersion(connection);
  if (metadata.schemaVersion > targetVersion) {
    throw new AppError(
      'schema_mismatch',
      `the archive has schema version ${metadata.schemaVersion}, newer than this database's ` +
        `${targetVersion}; import it into a Gatehouse at least as new as the one that wrote it`,
      {
        status: 422,
        extra: { archive_version: metadata.schemaVersion, database_version: targetVersion },
      },
    );
  }
  const slug = options.slug ?? metadata.tenantSlug;
  const mode = slug === metadata.tenantSlug ? 'restore' : 'copy';
  const taken = await connection.query('select 1 from tenants where slug = $1', [slug]);
  if (taken.length > 0) {
    throw new AppError('conflict', 'a tenant with that slug exists; import under another slug', {
      extra: { slug },
    });
  }
  const columns = await readColumns(connection);
  const codec = createSecretCodec(deps.config.secretKey);
  const remap: IdRemapper | null = mode === 'copy' ? createIdRemapper(deps.random.bytes(32)) : null;
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const rows: Record<string, number> = {};
  const deferred = new Map<TableSpec, Row[]>();
  let tenant: ImportResult['tenant'] | null = null;
  let archivedTenantId: string | null = null;
  let position = -1;
  let batch: { spec: TableSpec; rows: Row[]; bytes: number } | null = null;

  const flush = async (): Promise<void> => {
    if (batch === null || batch.rows.length === 0) return;
    await insertRows(connection, batch.spec, batch.rows, columns.get(batch.spec.name)!);
    rows[batch.spec.name] = (rows[batch.spec.name] ?? 0) + batch.rows.length;
    options.onProgress?.({ table: batch.spec.name, rows: rows[batch.spec.name]! });
    batch = null;
  };

  await connection.query('begin');
  try {
    for await (const record of archive.records()) {
      const spec = TABLES_BY_NAME.get(record.table);
      if (spec === undefined) {
        throw new AppError(
          'archive_invalid_content',
          `the archive holds an unknown table "${record.table}"`,
        );
      }
      const index = TABLES.indexOf(spec);
      if (index < position) {
        throw new AppError('archive_invalid_content', `table "${spec.name}" is out of order`);
      }
      if (!columns.has(spec.name)) {
        throw new AppError('archive_invalid_content', `this database has no table "${spec.name}"`);
      }
      if (index > position) {
        await flush();
        position = index;
      }
      // Every row must belong to the archive's tenant (the first record): an archive cannot
      // write into another tenant, whoever made it.
      const owner = record.row[spec.tenantColumn];
      if (spec.name === 'tenants') {
        if (archivedTenantId !== null)
          throw new AppError('archive_invalid_content', 'two tenants in one archive');
        archivedTenantId = String(owner);
      } else if (archivedTenantId === null || owner !== archivedTenantId) {
        throw new AppError(
          'archive_invalid_content',
          `a ${spec.name} row belongs to no tenant of this archive`,
        );
      }
      if (remap !== null && spec.copy === 'skip') continue;

      let row = remap === null ? record.row : remapRow(spec, record.row, remap);
      if (spec.name === 'tenants') {
        row = { ...row, slug };
        tenant = { id: String(row.id), slug, name: String(row.name) };
      }
      row = await codec.importRow(spec.name, row);
      if (spec.deferred !== undefined) {
        const later: Row = { id: row.id ?? null };
        const now: Row = { ...row };
        for (const column of spec.deferred) {
          later[column] = row[column] ?? null;
          now[column] = null;
        }
        if (spec.deferred.some((column) => later[column] !== null)) {
          const links = deferred.get(spec) ?? [];
          links.push(later);
          deferred.set(spec, links);
        }
        row = now;
      }
      batch ??= { spec, rows: [], bytes: 0 };
      batch.rows.push(row);
      batch.bytes += JSON.stringify(row).length;
      if (batch.rows.length >= batchRows || batch.bytes >= BATCH_BYTES) await flush();
    }
    // The reader reached the end: every segment, the final one included, authenticated.
    await flush();
    if (tenant === null)
      throw new AppError('archive_invalid_content', 'the archive holds no tenant');
    for (const [spec, links] of deferred) {
      for (let i = 0; i < links.length; i += batchRows) {
        await updateDeferred(connection, spec, links.slice(i, i + batchRows));
      }
    }
    const event = new PgDialect().sqlToQuery(
      auditInsert({
        tenantId: tenant.id,
        type: 'admin.tenant.imported',
        actor: { type: options.actor.type, id: options.actor.id ?? null },
        target: { type: 'tenant', id: tenant.id },
        ip: options.actor.ip ?? null,
        userAgent: options.actor.userAgent ?? null,
        details: {
          mode,
          archive_slug: metadata.tenantSlug,
          archive_schema_version: metadata.schemaVersion,
          exported_at: metadata.exportedAt.toISOString(),
        },
        at: options.now,
      }),
    );
    await connection.query(event.sql, event.params);
    await connection.query('commit');
  } catch (error) {
    await connection.query('rollback').catch(() => undefined);
    throw error;
  }
  return {
    tenant,
    mode,
    rows,
    archive: {
      slug: metadata.tenantSlug,
      schemaVersion: metadata.schemaVersion,
      exportedAt: metadata.exportedAt,
    },
  };
}

/** Column names of every registry table in this database. */
async function readColumns(connection: Connection): Promise<Map<string, Set<string>>> {
  const found = await connection.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name from information_schema.columns
     where table_schema = current_schema() and table_name = any($1::text[])`,
    [TABLES.map((table) => table.name)],
  );
  const columns = new Map<string, Set<string>>();
  for (const { table_name, column_name } of found) {
    let set = columns.get(table_name);
    if (set === undefined) columns.set(table_name, (set = new Set()));
    set.add(column_name);
  }
  return columns;
}

/**
 * One INSERT per batch: Postgres itself turns the archive's JSON back into typed rows. Columns
 * the archive does not have (it is older) are left out, so they take their defaults.
 */
async function insertRows(
  connection: Connection,
  spec: TableSpec,
  rows: Row[],
  target: Set<string>,
): Promise<void> {
  const present = new Set<string>();
  for (const row of rows)
    for (const column of Object.keys(row)) if (target.has(column)) present.add(column);
  const names = [...present];
  const values = names.map((column) => spec.insertSQL?.[column] ?? `r.${quoteIdentifier(column)}`);
  const table = quoteIdentifier(spec.name);
  await connection.query(
    `insert into ${table} (${names.map(quoteIdentifier).join(', ')})
     select ${values.join(', ')} from json_populate_recordset(null::${table}, $1::json) r
     ${spec.onConflict === 'ignore' ? 'on conflict do nothing' : ''}`,
    [JSON.stringify(rows)],
  );
}

async function updateDeferred(
  connection: Connection,
  spec: TableSpec,
  links: Row[],
): Promise<void> {
  const columns = spec.deferred ?? [];
  const table = quoteIdentifier(spec.name);
  const set = columns.map((column) => `${quoteIdentifier(column)} = v.${quoteIdentifier(column)}`);
  await connection.query(
    `update ${table} t set ${set.join(', ')}
     from json_populate_recordset(null::${table}, $1::json) v where t.id = v.id`,
    [JSON.stringify(links)],
  );
}
