// Issue 16, items 3 and 5: `npm run db:migrate` prints the kind of each migration it applies and
// records it in drizzle.migration_kinds (backfilling a database migrated before kinds were
// recorded); in production it and the CLI refuse a DATABASE_URL to a remote host without
// sslmode=require or stricter. The commands run for real (Node 24, as npm scripts do) against a
// real Postgres protocol server.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import kinds from '../../drizzle/kinds.json' with { type: 'json' };
import { startPostgres, type PostgresServer } from '../../scripts/stack/postgres.ts';
import { databaseURLTLSProblem, isLoopbackHost } from '../../src/lib/database-url.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PASSWORD = 'planted-db-password-3c9d';
const REMOTE = `postgres://gatehouse:${PASSWORD}@ep-cool-1234.eu-central-1.aws.neon.tech/gatehouse`;

let server: PostgresServer;
let databaseURL: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script with exactly these settings (ENVIRONMENT unset unless given: production).
 * Asynchronously: under GATEHOUSE_TEST_PGLITE the database is served from this very process.
 */
function run(script: string, env: Record<string, string>, ...args: string[]): Promise<Run> {
  const base = { ...process.env };
  delete base.ENVIRONMENT;
  delete base.DATABASE_URL;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

const migrateCommand = (env: Record<string, string>): Promise<Run> =>
  run('scripts/migrate.ts', env);

/** One statement on a connection of its own, closed after: the commands need the server too. */
async function query<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseURL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function recordedKinds(): Promise<{ idx: number; tag: string; kind: string }[]> {
  return query('select idx, tag, kind from drizzle.migration_kinds order by idx');
}

const declared = kinds as Record<string, string>;
const EXPECTED_ROWS = journal.entries.map(({ idx, tag }) => ({ idx, tag, kind: declared[tag] }));

beforeAll(async () => {
  server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const target = await server.createDatabase('migrate_command');
  databaseURL = `postgres://${target.user}@${target.host}:${target.port}/${target.database}`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('npm run db:migrate', () => {
  it('prints each applied migration with its kind and records the kinds, on loopback without sslmode in production', async () => {
    // ENVIRONMENT is unset: production rules, and a loopback database needs no TLS.
    const first = await migrateCommand({ DATABASE_URL: databaseURL });
    expect(first.stderr).not.toContain('refused');
    expect(first.status).toBe(0);
    for (const { tag, kind } of EXPECTED_ROWS) {
      expect(first.stdout).toContain(`Applied ${tag}: ${kind}\n`);
    }
    // 0000 creates everything: the run as a whole is breaking, and says so.
    expect(first.stdout).toMatch(
      new RegExp(`schema version ${journal.entries.length}; applied breaking migrations`),
    );
    expect(await recordedKinds()).toEqual(EXPECTED_ROWS);
  }, 90_000);

  it('applies and prints nothing on a second run', async () => {
    const second = await migrateCommand({ DATABASE_URL: databaseURL });
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain('Applied ');
    expect(second.stdout).toContain(`schema version ${journal.entries.length}; nothing to apply`);
  }, 60_000);

  it('backfills the kinds of a database migrated before kinds were recorded, keeping newer rows', async () => {
    await query('drop table drizzle.migration_kinds');
    const backfill = await migrateCommand({ DATABASE_URL: databaseURL });
    expect(backfill.status).toBe(0);
    expect(backfill.stdout).not.toContain('Applied ');
    expect(await recordedKinds()).toEqual(EXPECTED_ROWS);

    // A row a newer release recorded (beyond this journal) survives this release's migrate.
    const newer = {
      idx: journal.entries.length,
      tag: '9999_from_a_newer_release',
      kind: 'breaking',
    };
    await query('insert into drizzle.migration_kinds (idx, tag, kind) values ($1, $2, $3)', [
      newer.idx,
      newer.tag,
      newer.kind,
    ]);
    expect((await migrateCommand({ DATABASE_URL: databaseURL })).status).toBe(0);
    expect(await recordedKinds()).toEqual([...EXPECTED_ROWS, newer]);
    await query('delete from drizzle.migration_kinds where idx = $1', [newer.idx]);
  }, 90_000);

  it('refuses in production a remote DATABASE_URL without sslmode, with exit 1 and no password', async () => {
    for (const env of [{}, { ENVIRONMENT: 'production' }] as Record<string, string>[]) {
      const refused = await migrateCommand({ ...env, DATABASE_URL: REMOTE });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('sslmode=require');
      expect(refused.stdout + refused.stderr).not.toContain(PASSWORD);
      expect(refused.stdout).not.toContain('Migrated');
    }
    const prefer = await migrateCommand({ DATABASE_URL: `${REMOTE}?sslmode=prefer` });
    expect(prefer.status).toBe(1);
    expect(prefer.stderr).toContain('sslmode=require');
  }, 90_000);
});

describe('npm run cli', () => {
  it('refuses in production a remote DATABASE_URL without sslmode before any command connects', async () => {
    for (const args of [['bootstrap-code'], ['create-tenant', '--slug=acme', '--name=Acme']]) {
      const refused = await run('scripts/cli.ts', { DATABASE_URL: REMOTE }, ...args);
      expect(refused.status, args[0]).toBe(1);
      expect(refused.stderr, args[0]).toContain('sslmode=require');
      expect(refused.stdout + refused.stderr, args[0]).not.toContain(PASSWORD);
    }
  });

  it('runs a command against a loopback database without sslmode in production', async () => {
    const created = await run(
      'scripts/cli.ts',
      {
        DATABASE_URL: databaseURL,
        SECRET_KEY: 'dGVzdC1vbmx5LXNlY3JldC1rZXktZm9yLWdhdGVob3VzZS10ZXN0cy0wMDA',
      },
      'create-tenant',
      '--slug=loopback',
      '--name=Loopback',
    );
    expect(created.stderr).not.toContain('refused');
    expect(created.status).toBe(0);
  }, 60_000);
});

describe('the DATABASE_URL rule (src/lib/database-url.ts)', () => {
  it('accepts require, verify-ca and verify-full for a remote host', () => {
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      expect(databaseURLTLSProblem(`${REMOTE}?sslmode=${mode}`), mode).toBeNull();
    }
  });

  it('refuses a remote host with no sslmode, or one that allows cleartext', () => {
    for (const suffix of [
      '',
      '?sslmode=disable',
      '?sslmode=allow',
      '?sslmode=prefer',
      '?ssl=true',
    ]) {
      const problem = databaseURLTLSProblem(`${REMOTE}${suffix}`);
      expect(problem, suffix).toContain('sslmode=require');
      expect(problem, suffix).not.toContain(PASSWORD);
    }
  });

  it('treats localhost, 127.0.0.0/8 and ::1 as loopback, and nothing else', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.1.example.com',
      'localhost.example.com',
      'db',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
