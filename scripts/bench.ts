// `npm run bench`: requests per second, latency, SQL round trips and CPU per request inside workerd
// for each endpoint family, against the local stack (`npm run dev`: PostgreSQL when installed, else
// PGlite), on a throwaway tenant with raised rate limits and the credential response floor at 0.
//
//   npm run bench [-- --report-only] [--connections=10] [--scale=1] [--out=.data/bench-results.json]
//   npm run bench -- --bundle           also the deploy bundle's size and the Worker's start-up
//   npm run bench -- --profile=bearer   one family only, under the inspector's CPU profiler: writes
//                                        .data/profile-<family>.cpuprofile and prints the self time
//
// CPU per request: utime + stime of the workerd processes (/proc/<pid>/stat) before and after a
// fixed number of requests, divided by their count; the load generator (autocannon) runs in this
// process, outside workerd. wrangler's local proxy is reported beside it. The exit code is 1 when a
// CPU budget is missed (bearer ≤ 1 ms, cookie ≤ 1.5 ms, login ≤ hash time + 3 ms), unless
// --report-only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { buildBundle, bundleBreakdown, measureStartup } from './bench/bundle.ts';
import { findProcesses } from './bench/cpu.ts';
import { benchFamilies, createBenchTenant } from './bench/families.ts';
import { measureFamily, measureHashCeiling, type FamilyResult } from './bench/measure.ts';
import { findInspector, startProfiling, summarize } from './bench/profile.ts';
import { bootstrapOperator, ROOT, startBenchStack } from './bench/stack.ts';

const flag = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const reportOnly = process.argv.includes('--report-only');
const profile = flag('profile');
const withBundle = process.argv.includes('--bundle');
const connections = Number(flag('connections') ?? 10);
const scale = Number(flag('scale') ?? 1);
const out = resolve(process.cwd(), flag('out') ?? '.data/bench-results.json');
if (!Number.isInteger(connections) || connections < 1)
  throw new Error('--connections must be a positive integer');
if (!(scale > 0)) throw new Error('--scale must be positive');

const OPERATOR = { email: 'bench-operator@bench.example', password: 'Quartz-Vivid-Harbor-97' };

const startedAt = performance.now();
console.log('[bench] starting the local stack (npm run dev) …');
const stack = await startBenchStack({ readyWithinMs: 150_000, unminified: profile !== undefined });
let exitCode = 0;
try {
  const processes = findProcesses(stack.pid, Number(new URL(stack.base).port));
  if (processes.workerd.length !== 1)
    throw new Error(
      `expected one Worker workerd under the dev stack, found ${processes.workerd.length}`,
    );
  console.log(
    `[bench] stack up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s ` +
      `(${stack.database}; Worker's workerd pid ${processes.workerd.join(', ')}; proxy pids ` +
      `${processes.proxy.join(', ')})`,
  );
  const operatorCookie = await bootstrapOperator(stack, OPERATOR);
  const tenant = await createBenchTenant(stack, operatorCookie, {
    refreshTokens: connections * 2 + 4,
  });
  const ceiling = await measureHashCeiling();
  console.log(
    `[bench] PBKDF2-HMAC-SHA-256 ${ceiling.iterations} iterations: ${ceiling.hashMs.toFixed(2)} ms CPU ` +
      `(${ceiling.wallMs.toFixed(2)} ms wall) ` +
      `(single-core ceiling ${ceiling.perSecond.toFixed(1)}/s)`,
  );
  const results: FamilyResult[] = [];
  const families = benchFamilies(tenant, scale).filter(
    (family) => profile === undefined || family.name.includes(profile),
  );
  if (families.length === 0) throw new Error(`no family matches --profile=${profile}`);
  for (const family of families) {
    const result = await measureFamily(stack, processes, family, {
      connections,
      hashMs: ceiling.hashMs,
      ...(profile === undefined
        ? {}
        : {
            around: async (run) => {
              const stop = await startProfiling(await findInspector(processes.proxy));
              await run();
              const capture = await stop();
              const file = resolve(
                ROOT,
                `.data/profile-${family.name.replace(/\W+/g, '-')}.cpuprofile`,
              );
              mkdirSync(dirname(file), { recursive: true });
              writeFileSync(file, JSON.stringify(capture.profile));
              console.log(
                `\n[bench] CPU profile of ${family.name}: ${file}\n${summarize(capture)}`,
              );
            },
          }),
    });
    results.push(result);
    console.log(`[bench] ${family.name}: done (${result.requests} requests)`);
  }
  const login = results.find((result) => result.name === 'login');
  const loginRatio = login === undefined ? null : login.requestsPerSecond / ceiling.perSecond;

  printTable(results);
  console.log(
    `\nPBKDF2 single-core ceiling: ${ceiling.perSecond.toFixed(1)} hashes/s ` +
      `(${ceiling.hashMs.toFixed(2)} ms CPU each, ${ceiling.iterations} iterations, Node WebCrypto)`,
  );
  if (loginRatio !== null)
    console.log(`login throughput: ${(loginRatio * 100).toFixed(0)}% of the ceiling`);
  const missed = results.filter((result) => result.withinBudget === false);
  const failed = results.filter((result) => result.failed > 0);
  for (const result of failed)
    console.log(`WARNING: ${result.name}: ${result.failed} requests failed or answered non-2xx`);
  for (const result of missed)
    console.log(
      `CPU budget missed: ${result.name} ${result.workerdCpuMsPerRequest.toFixed(2)} ms ` +
        `> ${result.cpuBudgetMs!.toFixed(2)} ms`,
    );

  mkdirSync(dirname(out), { recursive: true });
  let bundle: object | null = null;
  if (withBundle) {
    const built = await buildBundle();
    try {
      const startup = await measureStartup(built.file);
      bundle = {
        uploadKiB: built.uploadKiB,
        gzipKiB: built.gzipKiB,
        largest: bundleBreakdown(built.metafile, 10),
        ...startup,
      };
      console.log(
        `bundle: ${built.uploadKiB} KiB, gzip ${built.gzipKiB} KiB (wrangler deploy --dry-run)\n` +
          `start-up: ${startup.startupMs.toFixed(0)} ms (workerd ready with the bundle ` +
          `${startup.bundleMs.toFixed(0)} ms, with an empty Worker ${startup.emptyMs.toFixed(0)} ms; ` +
          `medians of 5)`,
      );
    } finally {
      built.remove();
    }
  }
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        measuredAt: new Date().toISOString(),
        machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown' },
        node: process.version,
        database: stack.database,
        connections,
        pbkdf2: ceiling,
        loginToCeilingRatio: loginRatio,
        families: results,
        bundle,
        durationSeconds: (performance.now() - startedAt) / 1000,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`JSON: ${out}`);
  if ((missed.length > 0 || failed.length > 0) && !reportOnly) exitCode = 1;
} catch (error) {
  console.error(error);
  console.error(stack.output().slice(-3000));
  exitCode = 1;
} finally {
  await stack.stop();
}
console.log(`[bench] ${((performance.now() - startedAt) / 1000).toFixed(0)} s in all (${ROOT})`);
process.exit(exitCode);

function printTable(results: FamilyResult[]): void {
  const header = [
    'family',
    'req/s',
    'p50 ms',
    'p99 ms',
    'SQL trips',
    'workerd CPU ms/req',
    'budget',
    'proxy CPU ms/req',
    'non-2xx',
  ];
  const rows = results.map((r) => [
    r.name,
    r.requestsPerSecond.toFixed(0),
    r.p50Ms.toFixed(0),
    r.p99Ms.toFixed(0),
    String(r.sqlRoundTrips),
    r.workerdCpuMsPerRequest.toFixed(2),
    r.cpuBudgetMs === null ? '' : `≤ ${r.cpuBudgetMs.toFixed(2)}${r.withinBudget ? '' : ' MISSED'}`,
    r.proxyCpuMsPerRequest.toFixed(2),
    String(r.failed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\n${line(header)}`);
  console.log(
    `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`,
  );
  for (const row of rows) console.log(line(row));
}
