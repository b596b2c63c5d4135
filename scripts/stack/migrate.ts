// Applies drizzle/ migrations with drizzle's own migrator. The only code path that changes the
// schema: the Worker never migrates at request time.
//
// It also records each applied migration's kind (drizzle/kinds.json) in drizzle.migration_kinds:
// a running build cannot know the kinds of migrations newer than itself, so it reads them from the
// database (src/db/schema-version.ts) to decide whether it may serve a database that is ahead of
// it. The table belongs to this script, not to drizzle/: no migration can forget or alter it. It
// sits beside drizzle's own table, not in a schema of ours: a schema named like the database role
// (`gatehouse`) would come first in the default search_path ("$user", public), and unqualified
// names (every migration's, the backup's current_schema()) would then resolve there.
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import kinds from '../../drizzle/kinds.json' with { type: 'json' };

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url).href);

export type MigrationKind = 'additive' | 'breaking';

export interface MigrationRecord {
  idx: number;
  tag: string;
  kind: MigrationKind;
  /** False when drizzle/kinds.json names no kind for the tag: recorded as breaking, to be safe. */
  declared: boolean;
}

export interface ApplyMigrationsOptions {
  /** Called for each migration this run applied (not for those applied before), in order. */
  onApplied?: (migration: MigrationRecord) => void;
}

/** Each journal entry with its declared kind; an undeclared one counts as breaking. */
export function migrationRecords(): MigrationRecord[] {
  const declared: Record<string, unknown> = kinds;
  return journal.entries.map(({ idx, tag }) => {
    const kind = declared[tag];
    return kind === 'additive' || kind === 'breaking'
      ? { idx, tag, kind, declared: true }
      : { idx, tag, kind: 'breaking', declared: false };
  });
}

const CREATE_KINDS_TABLE = [
  'create schema if not exists drizzle',
  // recorded_at: when this row was written; for migrations applied before kinds were recorded
  // it is the time of the backfill, not of the migration.
  `create table if not exists drizzle.migration_kinds (
     idx integer primary key,
     tag text not null,
     kind text not null check (kind in ('additive', 'breaking')),
     recorded_at timestamptz not null default now()
   )`,
];

export async function applyMigrations(
  connection: string | pg.ClientConfig,
  options: ApplyMigrationsOptions = {},
): Promise<number> {
  const client = new pg.Client(
    typeof connection === 'string' ? { connectionString: connection } : connection,
  );
  await client.connect();
  try {
    // Migrations print NOTICEs for "if not exists"; they are not news.
    client.on('notice', () => undefined);
    const before = await countApplied(client);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    const after = await countApplied(client);
    const applied = await recordKinds(client, after);
    for (const migration of applied.slice(before, after)) options.onApplied?.(migration);
    return after;
  } finally {
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query<{ present: boolean }>(
    "select to_regclass('drizzle.__drizzle_migrations') is not null as present",
  );
  if (exists.rows[0]?.present !== true) return 0;
  const result = await client.query<{ version: number }>(
    'select count(*)::int as version from drizzle.__drizzle_migrations',
  );
  return result.rows[0]?.version ?? 0;
}

/**
 * Writes a row per applied migration this build knows, backfilling those applied before kinds
 * were recorded. Rows already there are kept: a newer build may have recorded its own migrations
 * (beyond this journal), and a recorded kind is what the running builds have already relied on.
 */
async function recordKinds(client: pg.Client, appliedCount: number): Promise<MigrationRecord[]> {
  const records = migrationRecords().slice(0, appliedCount);
  await client.query('begin');
  try {
    for (const statement of CREATE_KINDS_TABLE) await client.query(statement);
    if (records.length > 0) {
      await client.query(
        `insert into drizzle.migration_kinds (idx, tag, kind)
         select * from unnest($1::int[], $2::text[], $3::text[])
         on conflict (idx) do nothing`,
        [records.map((r) => r.idx), records.map((r) => r.tag), records.map((r) => r.kind)],
      );
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  return records;
}
