// `npm run cli -- audit-verify` against a real Postgres protocol server: intact, edited, deleted.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../src/features/audit/events.ts';
import { sql } from 'drizzle-orm';
import { sealChain } from '../../src/features/audit/service.ts';
import { eraseUser } from '../../src/features/privacy/erase-repo.ts';
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
  }, 180_000);

  it('still reports intact after a user is erased: personal fields sit under a commitment', async () => {
    expect(cli('create-tenant', '--slug=erasure', '--name=Erasure').status).toBe(0);
    const tenantId = String(
      (await client.query('select id from tenants where slug = $1', ['erasure'])).rows[0].id,
    );
    const email = 'erase-me@example.com';
    const userId = String(
      (
        await client.query(
          `insert into users (tenant_id, email, email_normalized) values ($1, $2, $2) returning id`,
          [tenantId, email],
        )
      ).rows[0].id,
    );
    const secretKey = decodeBase64(SECRET_KEY);
    const about = (i: number) => ({
      tenantId,
      type: 'security.test.personal' as const,
      actor: { type: 'user' as const, id: userId },
      target: { type: 'user', id: userId },
      ip: `192.0.2.${i}`,
      userAgent: 'erasure-test',
      details: { i, email, user_id: userId },
      at: new Date(),
    });
    await recordAuditEvent(database.db, about(1));
    await recordAuditEvent(database.db, { ...about(0), actor: { type: 'system' }, target: null });
    await recordAuditEvent(database.db, about(2));
    await sealChain({ db: database.db, secretKey }, tenantId);
    await recordAuditEvent(database.db, about(3)); // still unsealed when the user is erased
    // (No CLI call between here and the erasure: the local Neon endpoint drops idle keep-alive
    // sockets while a CLI runs, and the next query through `database.db` would meet a reset one.)

    const erasure = await eraseUser(database.db, {
      tenant: sql`${tenantId}::uuid`,
      userId,
      event: { type: 'security.user.erased', actor: { type: 'system' }, at: new Date() },
    });
    expect(erasure).toMatchObject({ tenantFound: true, erased: true, scrubbedEvents: 4 });
    await sealChain({ db: database.db, secretKey }, tenantId);

    const rows = await client.query(
      `select count(*)::int as n from audit_events e where e::text ilike $1 or e::text ilike $2`,
      [`%${userId}%`, `%${email}%`],
    );
    expect(rows.rows[0].n).toBe(0);
    const verified = cli('audit-verify', '--tenant', 'erasure');
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/intact: 5 events verified up to #5/);

    // A scrubbed field written back (a partial undo, or any other edit) is caught.
    await client.query(
      `update audit_events set ip = '192.0.2.1' where tenant_id = $1 and seq = 1`,
      [tenantId],
    );
    expect(cli('audit-verify', '--tenant', 'erasure').stdout).toMatch(/BROKEN at #1 \(edited\)/);
  }, 180_000);
});
