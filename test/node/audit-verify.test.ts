// `npm run cli -- audit-verify` against a real Postgres protocol server: intact, edited, deleted.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../src/features/audit/events.ts';
import { sealChain } from '../../src/features/audit/service.ts';
import { decodeBase64 } from '../../src/lib/encoding.ts';
import { openDatabase, type OpenDatabase } from '../../scripts/lib/database.ts';
import { applyMigrations } from '../../scripts/stack/migrate.ts';
import { startPostgres, type PostgresServer } from '../../scripts/stack/postgres.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET_KEY = 'dGVzdC1vbmx5LXNlY3JldC1rZXktZm9yLWdhdGVob3VzZS10ZXN0cy0wMDA';

let server: PostgresServer;
let databaseURL: string;
let database: OpenDatabase;
let client: pg.Client;

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['scripts/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseURL, SECRET_KEY },
    encoding: 'utf8',
  });
}

beforeAll(async () => {
  server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const target = await server.createDatabase('audit_cli');
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

describe('audit-verify', () => {
  it('reports an intact chain, then the first edited row, then a deleted row', async () => {
    expect(cli('create-tenant', '--slug=acme', '--name=Acme').status).toBe(0);
    const tenantId = String(
      (await client.query('select id from tenants where slug = $1', ['acme'])).rows[0].id,
    );
    for (let i = 0; i < 4; i++) {
      await recordAuditEvent(database.db, {
        tenantId,
        type: 'security.test.cli',
        actor: { type: 'system' },
        details: { i },
        at: new Date(),
      });
    }
    await sealChain({ db: database.db, secretKey: decodeBase64(SECRET_KEY) }, tenantId);

    const intact = cli('audit-verify', '--tenant', 'acme');
    expect(intact.status, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/intact: 4 events verified up to #4/);

    await client.query(
      `update audit_events set details = '{"i": 99}' where tenant_id = $1 and seq = 3`,
      [tenantId],
    );
    const edited = cli('audit-verify', '--tenant', 'acme');
    expect(edited.status).toBe(1);
    expect(edited.stdout).toMatch(/BROKEN at #3 \(edited\)/);

    await client.query(
      `update audit_events set details = '{"i": 2}' where tenant_id = $1 and seq = 3`,
      [tenantId],
    );
    expect(cli('audit-verify', '--tenant', 'acme').status).toBe(0); // the original content verifies again
    await client.query('delete from audit_events where tenant_id = $1 and seq = 2', [tenantId]);
    const deleted = cli('audit-verify', '--tenant', 'acme');
    expect(deleted.status).toBe(1);
    expect(deleted.stdout).toMatch(/BROKEN at #2 \(missing\)/);

    expect(cli('audit-verify', '--tenant', 'nobody').status).toBe(1);
  }, 60_000);
});
