// Benchmark of the CLI backup path on a 100,000-user tenant: export time, import time, archive
// size, and peak memory (RSS and heap, sampled every 20 ms) of this process, which runs the same
// export and import code as the Worker.
//
//   node scripts/bench-backup.ts [--users=100000] [--database-url=postgres://…]
//
// Without --database-url it starts a temporary PostgreSQL (or PGlite) and migrates it. The
// in-process Neon endpoint the CLI uses for a local database is counted in the figures too.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import pg from 'pg';
import { createPasswordHasher } from '../src/features/accounts/password.ts';
import { createTenant } from '../src/features/tenants/service.ts';
import { cryptoRandom } from '../src/deps.ts';
import { encodeBase64url } from '../src/lib/encoding.ts';
import {
  exportTenantToFile,
  importTenantFromFile,
  openBackupDatabase,
} from './commands/tenant-backup.ts';
import { applyMigrations } from './stack/migrate.ts';
import { startPostgres, type PostgresServer } from './stack/postgres.ts';

const { values } = parseArgs({
  options: { users: { type: 'string' }, 'database-url': { type: 'string' } },
});
const USERS = Number(values.users ?? 100_000);
const SECRET_KEY = crypto.getRandomValues(new Uint8Array(32));
const PASSPHRASE = 'benchmark passphrase, sixteen+';

let server: PostgresServer | undefined;
let databaseURL = values['database-url'];
if (databaseURL === undefined) {
  server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const target = await server.createDatabase('gatehouse_bench');
  await applyMigrations(target);
  databaseURL = `postgres://${target.user}@${target.host}:${target.port}/${target.database}`;
}
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const slug = `bench-${Date.now().toString(36)}`;
const opened = await openBackupDatabase({ secretKey: SECRET_KEY, databaseURL });

try {
  // Seeding: one INSERT … SELECT generate_series, every user with the same precomputed hash.
  const seedStarted = performance.now();
  const tenant = await createTenant(
    { db: opened.db, secretKey: SECRET_KEY, random: cryptoRandom },
    { slug, name: 'Benchmark tenant' },
  );
  const hash = await createPasswordHasher(SECRET_KEY).hash(
    'benchmark password',
    new Uint8Array(16).fill(1),
  );
  const client = new pg.Client({ connectionString: databaseURL });
  await client.connect();
  await client.query(
    `insert into users (tenant_id, email, email_normalized, name, password_hash, email_verified)
     select $1, 'user' || n || '@example.com', 'user' || n || '@example.com', 'User ' || n, $2, n % 2 = 0
     from generate_series(1, $3::int) as n`,
    [tenant.id, hash, USERS],
  );
  console.error(
    `seeded ${USERS.toLocaleString('en')} users in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  globalThis.gc?.();
  const baseline = process.memoryUsage();
  const archive = join(dir, 'bench.bkp1');
  const exported = await measure(() => exportTenantToFile(opened, slug, PASSPHRASE, archive));
  console.error(`exported: ${exported.result.size.toLocaleString('en')} bytes`);
  await client.query('delete from tenants where id = $1', [tenant.id]);
  await client.query('delete from audit_events where tenant_id = $1', [tenant.id]);
  await client.query('delete from audit_chains where chain_id = $1', [tenant.id]);
  const imported = await measure(() => importTenantFromFile(opened, archive, PASSPHRASE));
  const { rows } = await client.query('select count(*)::int as n from users where tenant_id = $1', [
    tenant.id,
  ]);
  // The same again as `npm run cli` processes, their peak RSS read from /proc (Linux).
  const cliArchive = join(dir, 'cli.bkp1');
  const cliEnv = {
    DATABASE_URL: databaseURL,
    SECRET_KEY: encodeBase64url(SECRET_KEY),
    BKP: PASSPHRASE,
  };
  const cliExport = await runCLI(
    ['export-tenant', `--slug=${slug}`, `--output=${cliArchive}`, '--passphrase-env=BKP'],
    cliEnv,
  );
  await client.query('delete from tenants where id = $1', [tenant.id]);
  await client.query('delete from audit_events where tenant_id = $1', [tenant.id]);
  await client.query('delete from audit_chains where chain_id = $1', [tenant.id]);
  const cliImport = await runCLI(
    ['import-tenant', `--input=${cliArchive}`, '--passphrase-env=BKP'],
    cliEnv,
  );
  await client.query('delete from tenants where id = $1', [tenant.id]);
  await client.end();

  const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    JSON.stringify(
      {
        users: USERS,
        restored_users: rows[0].n,
        archive_bytes: exported.result.size,
        export_seconds: Number(exported.seconds.toFixed(2)),
        import_seconds: Number(imported.seconds.toFixed(2)),
        export_peak_rss: mb(exported.peakRSS),
        export_peak_heap_used: mb(exported.peakHeap),
        import_peak_rss: mb(imported.peakRSS),
        import_peak_heap_used: mb(imported.peakHeap),
        cli_export_seconds: Number(cliExport.seconds.toFixed(2)),
        cli_export_peak_rss: cliExport.peakRSS === null ? null : mb(cliExport.peakRSS),
        cli_import_seconds: Number(cliImport.seconds.toFixed(2)),
        cli_import_peak_rss: cliImport.peakRSS === null ? null : mb(cliImport.peakRSS),
        baseline_rss: mb(baseline.rss),
        baseline_heap_used: mb(baseline.heapUsed),
        heap_limit: mb(getHeapStatistics().heap_size_limit),
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  await opened.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `task`, sampling memory every 20 ms; both figures include the process's baseline. */
async function measure<T>(
  task: () => Promise<T>,
): Promise<{ result: T; seconds: number; peakRSS: number; peakHeap: number }> {
  globalThis.gc?.();
  let peakRSS = 0;
  let peakHeap = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    peakRSS = Math.max(peakRSS, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    const result = await task();
    sample();
    return { result, seconds: (performance.now() - started) / 1000, peakRSS, peakHeap };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `node scripts/cli.ts …`; peak RSS is the child's VmHWM, polled from /proc until it exits. */
async function runCLI(
  args: string[],
  env: Record<string, string>,
): Promise<{ seconds: number; peakRSS: number | null }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['scripts/cli.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let peakRSS: number | null = null;
  const poll = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match !== null) peakRSS = Math.max(peakRSS ?? 0, Number(match[1]) * 1024);
    } catch {
      // Not Linux, or the child has exited.
    }
  }, 20);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(poll);
  if (code !== 0) throw new Error(`cli ${args[0]} exited with ${code}`);
  return { seconds: (performance.now() - started) / 1000, peakRSS };
}
