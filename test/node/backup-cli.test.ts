// Issue 6, item 4: `npm run cli -- export-tenant` and `import-tenant`, the real command against a
// real database: a round trip (export, delete the tenant, import, the password still verifies and
// every row is back), refusals with a clear message and a non-zero exit, no stack trace, no secret.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/features/accounts/password.ts';
import { TABLES, createSecretCodec, type Row } from '../../src/features/backup/tables.ts';
import { decodeBase64 } from '../../src/lib/encoding.ts';
import { applyMigrations } from '../../scripts/stack/migrate.ts';
import { startPostgres, type PostgresServer } from '../../scripts/stack/postgres.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET_KEY = 'Y2xpLXRlc3Qtc2VjcmV0LWtleS10aGlydHktdHdvLWJ5dGVzISE';
const PASSPHRASE = 'cli passphrase, long enough';
const PASSWORD = 'correct horse battery';
const SLUG = 'cli-tenant';
const SLOW = 120_000;

let server: PostgresServer;
let databaseURL: string;
let client: pg.Client;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-cli-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['scripts/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseURL, SECRET_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

async function dump(tenantId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  // Sealed values (private keys, password hashes) are sealed again with a fresh IV on import:
  // compare them opened, as the archive holds them.
  const codec = createSecretCodec(decodeBase64(SECRET_KEY));
  for (const table of TABLES) {
    const result = await client.query(
      `select to_jsonb(t) as r from "${table.name}" t where "${table.tenantColumn}" = $1 and not (to_jsonb(t) ? 'type' and to_jsonb(t)->>'type' like 'admin.tenant.%')`,
      [tenantId],
    );
    const rows: string[] = [];
    for (const { r } of result.rows as Array<{ r: Row }>)
      rows.push(JSON.stringify(await codec.exportRow(table.name, r)));
    out[table.name] = rows.sort();
  }
  // The chain's head moves with the import's own event.
  delete out.audit_chains;
  return out;
}

async function tenantId(slug: string): Promise<string | undefined> {
  const result = await client.query('select id from tenants where slug = $1', [slug]);
  return result.rows[0]?.id as string | undefined;
}

beforeAll(async () => {
  server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const target = await server.createDatabase('gatehouse_cli');
  await applyMigrations(target);
  databaseURL = `postgres://${target.user}@${target.host}:${target.port}/${target.database}`;
  client = new pg.Client(target);
  await client.connect();
  const created = await cli(['create-tenant', `--slug=${SLUG}`, '--name=CLI tenant']);
  expect(created.code, created.stderr).toBe(0);
  const hash = await createPasswordHasher(decodeBase64(SECRET_KEY)).hash(
    PASSWORD,
    new Uint8Array(16).fill(7),
  );
  await client.query(
    `insert into users (tenant_id, email, email_normalized, password_hash)
     select id, 'ada@example.com', 'ada@example.com', $2 from tenants where slug = $1`,
    [SLUG, hash],
  );
}, SLOW);

afterAll(async () => {
  await client?.end();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('export-tenant and import-tenant', () => {
  const archive = join(dir, 'tenant.bkp1');

  it(
    'round trip: export, delete the tenant, import; every row is back and the password verifies',
    async () => {
      const id = (await tenantId(SLUG))!;
      const before = await dump(id);
      const exported = await cli(
        ['export-tenant', `--slug=${SLUG}`, `--output=${archive}`, '--passphrase-env=BKP'],
        {
          BKP: PASSPHRASE,
        },
      );
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stderr).toMatch(/exported tenant cli-tenant: \d+ rows/);
      expect(existsSync(archive)).toBe(true);
      // Only the archive: the temporary file was renamed into place.
      expect(readdirSync(dir)).toEqual(['tenant.bkp1']);

      await client.query('delete from tenants where id = $1', [id]);
      await client.query('delete from audit_events where tenant_id = $1', [id]);
      await client.query('delete from audit_chains where chain_id = $1', [id]);

      const imported = await cli([
        'import-tenant',
        `--input=${archive}`,
        `--passphrase=${PASSPHRASE}`,
      ]);
      expect(imported.code, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout)).toMatchObject({
        tenant: { id, slug: SLUG },
        mode: 'restore',
      });
      expect(await dump(id)).toEqual(before);
      const { rows } = await client.query('select password_hash from users where tenant_id = $1', [
        id,
      ]);
      const verified = await createPasswordHasher(decodeBase64(SECRET_KEY)).verify(
        rows[0].password_hash,
        PASSWORD,
      );
      expect(verified.ok).toBe(true);
    },
    SLOW,
  );

  it(
    'refuses to overwrite an existing file without --force, and overwrites with it',
    async () => {
      const refused = await cli([
        'export-tenant',
        `--slug=${SLUG}`,
        `--output=${archive}`,
        `--passphrase=${PASSPHRASE}`,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('pass --force');
      const forced = await cli([
        'export-tenant',
        `--slug=${SLUG}`,
        `--output=${archive}`,
        `--passphrase=${PASSPHRASE}`,
        '--force',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
    },
    SLOW,
  );

  it(
    'fails clearly on a wrong passphrase, without a stack trace or the passphrase',
    async () => {
      const wrong = 'this is not the passphrase';
      const run = await cli([
        'import-tenant',
        `--input=${archive}`,
        `--passphrase=${wrong}`,
        '--slug=cli-copy',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: .*\(archive_decryption_failed\)\n$/);
      expect(run.stderr).not.toContain(wrong);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(await tenantId('cli-copy')).toBeUndefined();
    },
    SLOW,
  );

  it(
    'refuses the slug that exists (409 conflict), a file that is not bkp1, and a missing passphrase',
    async () => {
      const taken = await cli([
        'import-tenant',
        `--input=${archive}`,
        `--passphrase=${PASSPHRASE}`,
      ]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain('(conflict)');
      const other = join(dir, 'not-an-archive.txt');
      writeFileSync(other, 'hello');
      const notArchive = await cli([
        'import-tenant',
        `--input=${other}`,
        `--passphrase=${PASSPHRASE}`,
      ]);
      expect(notArchive.code).toBe(1);
      expect(notArchive.stderr).toContain('(archive_not_bkp1)');
      const noPassphrase = await cli(['import-tenant', `--input=${archive}`]);
      expect(noPassphrase.code).toBe(1);
      expect(noPassphrase.stderr).toContain('--passphrase');
    },
    SLOW,
  );

  it(
    'imports a copy under another slug',
    async () => {
      const run = await cli([
        'import-tenant',
        `--input=${archive}`,
        `--passphrase=${PASSPHRASE}`,
        '--slug=cli-copy',
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ tenant: { slug: 'cli-copy' }, mode: 'copy' });
      const copy = (await tenantId('cli-copy'))!;
      const users = await client.query('select email from users where tenant_id = $1', [copy]);
      expect(users.rows).toEqual([{ email: 'ada@example.com' }]);
    },
    SLOW,
  );
});
