// Issue 2, item 4: a database whose applied schema is older or newer than the build's migrations
// is refused with 503 schema_mismatch naming both versions, on API routes (the guard) and on
// /health/ready. The scratch database is served by the same Neon endpoint and migrated by nobody;
// each test writes the migration table it needs, so the tests pass in any order.
import { neon, neonConfig } from '@neondatabase/serverless';
import { beforeAll, describe, expect, it } from 'vitest';
import journal from '../../../drizzle/meta/_journal.json' with { type: 'json' };
import { send, testEnv } from '../harness.ts';

/** The version this build expects, counted from the journal itself rather than from src/. */
const BUILT_FOR = journal.entries.length;

const scratch = (): ReturnType<typeof neon> => neon(testEnv.TEST_SCRATCH_DATABASE_URL);

beforeAll(() => {
  neonConfig.fetchEndpoint = testEnv.DEV_NEON_HTTP_ENDPOINT ?? '';
});

/** Leaves the scratch database with `rows` applied migrations (drizzle's own table layout). */
async function applyFakeMigrations(rows: number): Promise<void> {
  const sql = scratch();
  await sql.transaction([
    sql`create schema if not exists drizzle`,
    sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    sql`delete from drizzle.__drizzle_migrations`,
    sql`insert into drizzle.__drizzle_migrations (hash, created_at)
        select 'fake-' || n, n from generate_series(1, ${rows}::int) as n`,
  ]);
}

async function dropMigrationTable(): Promise<void> {
  await scratch()`drop schema if exists drizzle cascade`;
}

interface Mismatch {
  error: string;
  error_description: string;
  database_version: number;
  expected_version: number;
}

async function expectMismatch(path: string, databaseVersion: number): Promise<void> {
  const sent = await send(path, {}, { env: { DATABASE_URL: testEnv.TEST_SCRATCH_DATABASE_URL } });
  expect(sent.response.status, path).toBe(503);
  const body = await sent.json<Mismatch>();
  expect(body.error, path).toBe('schema_mismatch');
  expect(body.database_version, path).toBe(databaseVersion);
  expect(body.expected_version, path).toBe(BUILT_FOR);
  // Names both versions for the operator reading the response.
  expect(body.error_description, path).toContain(`version ${databaseVersion}`);
  expect(body.error_description, path).toContain(`version ${BUILT_FOR}`);
  // One round trip to learn the version, nothing after the refusal.
  expect(await sent.roundTrips(), path).toBe(1);
}

describe('schema version check', () => {
  it('refuses a database that was never migrated (version 0, older)', async () => {
    await dropMigrationTable();
    await expectMismatch('/v1/nothing', 0);
    await expectMismatch('/health/ready', 0);
  });

  it('refuses a database with fewer migrations applied than the build has (older)', async () => {
    const older = BUILT_FOR - 1;
    await applyFakeMigrations(older);
    await expectMismatch('/v1/nothing', older);
    await expectMismatch('/health/ready', older);
  });

  it('refuses a database with more migrations applied than the build has (newer)', async () => {
    const newer = BUILT_FOR + 1;
    await applyFakeMigrations(newer);
    await expectMismatch('/v1/nothing', newer);
    await expectMismatch('/health/ready', newer);
  });

  it('notices a migration run while the isolate lives: a mismatch is not cached', async () => {
    await applyFakeMigrations(BUILT_FOR + 2);
    await expectMismatch('/v1/nothing', BUILT_FOR + 2);
    await applyFakeMigrations(BUILT_FOR + 3);
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
