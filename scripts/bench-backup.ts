// Benchmark of tenant backup on a 100,000-user tenant (issue 6, item 8): export time, import time,
// archive size, and peak memory of an isolate capped at 128 MB like a Worker's.
//
//   node scripts/bench-backup.ts [--users=100000] [--database-url=postgres://…] [--no-cli]
//
// The export and the import each run in a fresh worker_threads isolate with the V8 heap capped at
// 128 MB (scripts/lib/backup-isolate.ts), on the CLI's functions, which are the Worker's backup
// code on the Worker's drivers. Going over the cap kills the isolate and fails the run; so does a
// sample whose `combined` (total heap + external + malloced memory) reaches 128 MB. For context
// it also reports this process's peak RSS (the isolate, plus this thread, which seeded the tenant
// and serves the Neon endpoint), and the same export and import run as `npm run cli` processes.
//
// Without --database-url it starts a temporary PostgreSQL (or PGlite) and migrates it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { encodeBase64url } from '../src/lib/encoding.ts';
import { startBackupEndpoint } from './commands/tenant-backup.ts';
import {
  WORKER_ISOLATE_LIMITS,
  runBackupInIsolate,
  type HeapPeaks,
  type IsolateRun,
} from './lib/backup-isolate.ts';
import { seedTenant } from './lib/seed-tenant.ts';
import { applyMigrations } from './stack/migrate.ts';
import { startPostgres, type PostgresServer } from './stack/postgres.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string' },
    'database-url': { type: 'string' },
    'no-cli': { type: 'boolean' },
  },
});
const USERS = Number(values.users ?? 100_000);
const SECRET_KEY = crypto.getRandomValues(new Uint8Array(32));
const PASSPHRASE = 'benchmark passphrase, sixteen+';
const WORKER_LIMIT = 128 * 1024 * 1024;

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
const endpoint = await startBackupEndpoint({ secretKey: SECRET_KEY, databaseURL });
const client = new pg.Client({ connectionString: databaseURL });
await client.connect();

try {
  const seedStarted = performance.now();
  const tenantId = await seedTenant(endpoint.config, client, { slug, users: USERS });
  console.error(
    `seeded ${USERS.toLocaleString('en')} users in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );
  const dropTenant = async (): Promise<void> => {
    await client.query('delete from tenants where id = $1', [tenantId]);
    await client.query('delete from audit_events where tenant_id = $1', [tenantId]);
    await client.query('delete from audit_chains where chain_id = $1', [tenantId]);
  };

  const archive = join(dir, 'bench.bkp1');
  const exported = await withProcessRSS(() =>
    runBackupInIsolate(
      { kind: 'export', slug, output: archive, passphrase: PASSPHRASE },
      endpoint.config,
    ),
  );
  if (exported.run.result.kind !== 'export') throw new Error('expected an export result');
  const archiveBytes = exported.run.result.size;
  console.error(`exported: ${archiveBytes.toLocaleString('en')} bytes`);
  await dropTenant();
  const imported = await withProcessRSS(() =>
    runBackupInIsolate({ kind: 'import', input: archive, passphrase: PASSPHRASE }, endpoint.config),
  );
  const { rows } = await client.query('select count(*)::int as n from users where tenant_id = $1', [
    tenantId,
  ]);
  if (rows[0].n !== USERS) throw new Error(`restored ${rows[0].n} users of ${USERS}`);

  // The same again as `npm run cli` processes, their peak RSS read from /proc (Linux).
  let cli: Record<string, unknown> | null = null;
  if (values['no-cli'] !== true) {
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
    await dropTenant();
    const cliImport = await runCLI(
      ['import-tenant', `--input=${cliArchive}`, '--passphrase-env=BKP'],
      cliEnv,
    );
    cli = {
      export_seconds: round(cliExport.seconds),
      export_peak_rss: cliExport.peakRSS === null ? null : mb(cliExport.peakRSS),
      import_seconds: round(cliImport.seconds),
      import_peak_rss: cliImport.peakRSS === null ? null : mb(cliImport.peakRSS),
    };
  }
  await client.query('delete from tenants where id = $1', [tenantId]);

  const report = {
    users: USERS,
    restored_users: rows[0].n,
    archive_bytes: archiveBytes,
    isolate_limits: {
      ...WORKER_ISOLATE_LIMITS,
      heap_size_limit: mb(exported.run.heapSizeLimit),
    },
    export: phase(exported.run, exported.peakRSS),
    import: phase(imported.run, imported.peakRSS),
    cli_processes: cli,
    node: process.version,
  };
  console.log(JSON.stringify(report, null, 2));
  const worst = Math.max(
    ...[exported.run, imported.run].flatMap((run) => [
      run.loadPeaks.combined,
      run.jobPeaks.combined,
    ]),
  );
  if (worst >= WORKER_LIMIT) {
    console.error(`FAIL: the isolate's heap, external and malloced memory reached ${mb(worst)}`);
    process.exitCode = 1;
  }
} finally {
  await client.end();
  await endpoint.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function round(seconds: number): number {
  return Number(seconds.toFixed(2));
}

function peaks(p: HeapPeaks): Record<string, string> {
  return {
    used_heap: mb(p.usedHeap),
    total_heap: mb(p.totalHeap),
    external: mb(p.external),
    malloced: mb(p.malloced),
    combined: mb(p.combined),
  };
}

function phase(run: IsolateRun, peakRSS: number): Record<string, unknown> {
  return {
    seconds: round(run.seconds),
    rows: Object.values(run.result.rows).reduce((sum, n) => sum + n, 0),
    peak: peaks(run.jobPeaks),
    loading_peak: peaks(run.loadPeaks),
    samples: run.samples,
    process_peak_rss: mb(peakRSS),
  };
}

/**
 * Runs `task`, sampling this process's RSS every 20 ms: the capped isolate, this thread (which
 * serves the Neon endpoint) and Node's own threads together, for context only.
 */
async function withProcessRSS(
  task: () => Promise<IsolateRun>,
): Promise<{ run: IsolateRun; peakRSS: number }> {
  let peakRSS = 0;
  const sample = (): void => {
    peakRSS = Math.max(peakRSS, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 20);
  try {
    const run = await task();
    sample();
    return { run, peakRSS };
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
