// `npm run cli -- secret-rotation-status` against a real Postgres protocol server: what a
// rotation has left, then zero after the reseal; and `audit-verify` across the rotation.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../src/features/audit/events.ts';
import { sealChain } from '../../src/features/audit/service.ts';
import { resealTick } from '../../src/features/secrets/service.ts';
import { decodeBase64 } from '../../src/lib/encoding.ts';
import { openDatabase, type OpenDatabase } from '../../scripts/lib/database.ts';
import { applyMigrations } from '../../scripts/stack/migrate.ts';
import { startPostgres, type PostgresServer } from '../../scripts/stack/postgres.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OLD_KEY = 'dGVzdC1vbmx5LXNlY3JldC1rZXktZm9yLWdhdGVob3VzZS10ZXN0cy0wMDA';
const NEW_KEY = 'cm90YXRlZC10ZXN0LW9ubHktc2VjcmV0LWtleS10aGlydHktdHdvISE';

let server: PostgresServer;
let databaseURL: string;
let database: OpenDatabase;
let client: pg.Client;

function cli(keys: { SECRET_KEY: string; SECRET_KEY_PREVIOUS?: string }, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseURL, ...keys };
  if (keys.SECRET_KEY_PREVIOUS === undefined) delete env.SECRET_KEY_PREVIOUS;
  return spawnSync(process.execPath, ['scripts/cli.ts', ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
}

beforeAll(async () => {
  server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const target = await server.createDatabase('rotation_cli');
  await applyMigrations(target);
  databaseURL = `postgres://${target.user}@${target.host}:${target.port}/${target.database}`;
  database = await openDatabase(databaseURL);
  client = new pg.Client({ connectionString: databaseURL });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end();
  await database?.close();
  await server?.stop();
});

describe('secret-rotation-status', () => {
  it('counts what the previous key sealed, reports zero after the reseal, and audit-verify holds across it', async () => {
    const created = cli({ SECRET_KEY: OLD_KEY }, 'create-tenant', '--slug=rot', '--name=Rot');
    expect(created.status, created.stderr).toBe(0);
    const tenantId = String(
      (await client.query('select id from tenants where slug = $1', ['rot'])).rows[0].id,
    );
    for (let i = 0; i < 3; i++) {
      await recordAuditEvent(database.db, {
        tenantId,
        type: 'security.test.rotation',
        actor: { type: 'system' },
        details: { i },
        at: new Date(),
      });
    }
    await sealChain({ db: database.db, secretKey: decodeBase64(OLD_KEY) }, tenantId);

    const rotating = { SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: OLD_KEY };
    const before = cli(rotating, 'secret-rotation-status');
    expect(before.status, before.stderr).toBe(3);
    expect(before.stdout).toMatch(/signing_keys\.private_key\s+1 to reseal/);
    expect(before.stdout).toMatch(/not yet stored/);
    expect(before.stdout).toMatch(/remaining: 2/);
    expect(before.stdout + before.stderr).not.toContain(NEW_KEY);
    expect(before.stdout + before.stderr).not.toContain(OLD_KEY);

    const secretKeys = { current: decodeBase64(NEW_KEY), previous: decodeBase64(OLD_KEY) };
    const done = await resealTick({ db: database.db, secretKeys }, { maxRoundTrips: 20 });
    expect(done).toMatchObject({ resealed: 1, unopenable: 0 });

    const after = cli(rotating, 'secret-rotation-status');
    expect(after.status, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/remaining: 0/);
    // With the previous key removed: still zero, and the chain sealed under it still verifies.
    expect(cli({ SECRET_KEY: NEW_KEY }, 'secret-rotation-status').status).toBe(0);
    const verified = cli({ SECRET_KEY: NEW_KEY }, 'audit-verify', '--tenant', 'rot');
    expect(verified.status, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/intact: \d+ events verified/);
  });
});
