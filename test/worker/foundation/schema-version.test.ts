// Issue 2, item 4 and issue 16, item 3: the compatibility window. A build serves a database at its
// own schema version or ahead of it by additive migrations only (so `db:migrate` can run before a
// rolling deploy); an older database, or one ahead by a breaking migration (or one whose kind was
// never recorded), is refused with 503 schema_mismatch naming both versions, on API routes (the
// guard) and on /health/ready. The scratch database is served by the same Neon endpoint and
// migrated by nobody; each test writes the migration tables it needs (drizzle's, and the kinds
// table scripts/stack/migrate.ts keeps), so the tests pass in any order.
import { neon, neonConfig } from '@neondatabase/serverless';
import { beforeAll, describe, expect, it } from 'vitest';
import journal from '../../../drizzle/meta/_journal.json' with { type: 'json' };
import { send, testEnv } from '../harness.ts';

/** The version this build expects, counted from the journal itself rather than from src/. */
const BUILT_FOR = journal.entries.length;

type Kind = 'additive' | 'breaking';

const scratch = (): ReturnType<typeof neon> => neon(testEnv.TEST_SCRATCH_DATABASE_URL);

beforeAll(() => {
  neonConfig.fetchEndpoint = testEnv.DEV_NEON_HTTP_ENDPOINT ?? '';
});

/**
 * The isolate remembers a served database by its URL; a test that expects service uses a URL of
 * its own (the local endpoint maps only the database name), so no success leaks into a refusal.
 */
function scratchURLFor(caseName: string): string {
  const url = new URL(testEnv.TEST_SCRATCH_DATABASE_URL);
  url.username = `gatehouse-${caseName}`;
  return url.href;
}

/**
 * Leaves the scratch database with this build's migrations applied plus `ahead` newer ones, each
 * recorded with its kind (`null`: applied but no kind recorded). Tags past the journal are made up.
 */
async function applyFakeMigrations(rows: number, ahead: (Kind | null)[] = []): Promise<void> {
  const sql = scratch();
  const total = rows + ahead.length;
  const kinds = [...Array<Kind>(rows).fill('breaking'), ...ahead];
  const recorded = kinds.flatMap((kind, idx) => (kind === null ? [] : [{ idx, kind }]));
  await sql.transaction([
    sql`create schema if not exists drizzle`,
    sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    sql`delete from drizzle.__drizzle_migrations`,
    sql`insert into drizzle.__drizzle_migrations (hash, created_at)
        select 'fake-' || n, n from generate_series(1, ${total}::int) as n`,
    sql`create table if not exists drizzle.migration_kinds (idx integer primary key, tag text not null, kind text not null, recorded_at timestamptz not null default now())`,
    sql`delete from drizzle.migration_kinds`,
    sql`insert into drizzle.migration_kinds (idx, tag, kind)
        select idx, lpad(idx::text, 4, '0') || '_fake', kind
        from unnest(${recorded.map((r) => r.idx)}::int[], ${recorded.map((r) => r.kind)}::text[])
          as t(idx, kind)`,
  ]);
}

async function dropMigrationTables(): Promise<void> {
  await scratch()`drop schema if exists drizzle cascade`;
}

interface Mismatch {
  error: string;
  error_description: string;
  database_version: number;
  expected_version: number;
  breaking_migration?: string | null;
}

async function expectMismatch(path: string, databaseVersion: number): Promise<Mismatch> {
  const sent = await send(path, {}, { env: { DATABASE_URL: testEnv.TEST_SCRATCH_DATABASE_URL } });
  expect(sent.response.status, path).toBe(503);
  const body = await sent.json<Mismatch>();
  expect(body.error, path).toBe('schema_mismatch');
  expect(body.database_version, path).toBe(databaseVersion);
  expect(body.expected_version, path).toBe(BUILT_FOR);
  // Names both versions for the operator reading the response.
  expect(body.error_description, path).toContain(`version ${databaseVersion}`);
  expect(body.error_description, path).toContain(`version ${BUILT_FOR}`);
  // One round trip to learn the version and kinds, nothing after the refusal.
  expect(await sent.roundTrips(), path).toBe(1);
  return body;
}

async function expectServed(caseName: string, databaseVersion: number): Promise<void> {
  const env = { DATABASE_URL: scratchURLFor(caseName) };
  const ready = await send('/health/ready', {}, { env });
  expect(ready.response.status).toBe(200);
  expect(await ready.json()).toMatchObject({
    status: 'ready',
    schema_version: databaseVersion,
    expected_version: BUILT_FOR,
  });
  expect(await ready.roundTrips()).toBe(1);
  // The guard in front of the API lets the request through to the router: whatever it answers,
  // it is not the schema refusal.
  const api = await send('/v1/nothing', {}, { env });
  expect(api.response.status).not.toBe(503);
  expect(await api.json()).not.toMatchObject({ error: 'schema_mismatch' });
}

describe('schema version check', () => {
  it('refuses a database that was never migrated (version 0, older)', async () => {
    await dropMigrationTables();
    await expectMismatch('/v1/nothing', 0);
    await expectMismatch('/health/ready', 0);
  });

  it('refuses a database with fewer migrations applied than the build has (older)', async () => {
    const older = BUILT_FOR - 1;
    await applyFakeMigrations(older);
    await expectMismatch('/v1/nothing', older);
    await expectMismatch('/health/ready', older);
  });

  it('serves a database one additive migration ahead of the build', async () => {
    await applyFakeMigrations(BUILT_FOR, ['additive']);
    await expectServed('one-additive', BUILT_FOR + 1);
  });

  it('serves a database two additive migrations ahead of the build', async () => {
    await applyFakeMigrations(BUILT_FOR, ['additive', 'additive']);
    await expectServed('two-additive', BUILT_FOR + 2);
  });

  it('refuses a database one breaking migration ahead, naming the migration', async () => {
    await applyFakeMigrations(BUILT_FOR, ['breaking']);
    for (const path of ['/v1/nothing', '/health/ready']) {
      const body = await expectMismatch(path, BUILT_FOR + 1);
      expect(body.breaking_migration, path).toBe(`${String(BUILT_FOR).padStart(4, '0')}_fake`);
    }
  });

  it('refuses a database ahead by an additive and then a breaking migration', async () => {
    await applyFakeMigrations(BUILT_FOR, ['additive', 'breaking']);
    const body = await expectMismatch('/v1/nothing', BUILT_FOR + 2);
    expect(body.breaking_migration).toBe(`${String(BUILT_FOR + 1).padStart(4, '0')}_fake`);
  });

  it('refuses a database ahead by a migration whose kind was never recorded', async () => {
    await applyFakeMigrations(BUILT_FOR, ['additive', null]);
    const body = await expectMismatch('/v1/nothing', BUILT_FOR + 2);
    expect(body.breaking_migration).toBeNull();
  });

  it('reads the kinds of this build’s own migrations as irrelevant: breaking ones at or below it are served', async () => {
    // applyFakeMigrations records every migration up to the build's version as breaking.
    await applyFakeMigrations(BUILT_FOR, []);
    await expectServed('equal', BUILT_FOR);
  });

  it('notices a migration run while the isolate lives: a mismatch is not cached', async () => {
    await applyFakeMigrations(BUILT_FOR, ['breaking', 'breaking']);
    await expectMismatch('/v1/nothing', BUILT_FOR + 2);
    await applyFakeMigrations(BUILT_FOR, ['breaking', 'breaking', 'breaking']);
    await expectMismatch('/v1/nothing', BUILT_FOR + 3);
  });

  it('serves /health/ready from the migrated test database', async () => {
    const sent = await send('/health/ready');
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toMatchObject({
      schema_version: BUILT_FOR,
      expected_version: BUILT_FOR,
    });
  });
});
