// One family's figures: throughput and latency under autocannon, SQL round trips per request, and
// the CPU time workerd (and wrangler's proxy) spent per request.
import autocannon from 'autocannon';
import { PBKDF2_ITERATIONS } from '../../src/features/accounts/password.ts';
import { cpuMs, type ProcessGroups } from './cpu.ts';
import type { Family } from './families.ts';
import { roundTripsOf, type BenchStack } from './stack.ts';

export interface FamilyResult {
  name: string;
  requests: number;
  connections: number;
  ok: number;
  failed: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  sqlRoundTrips: number;
  workerdCpuMsPerRequest: number;
  proxyCpuMsPerRequest: number;
  cpuBudgetMs: number | null;
  withinBudget: boolean | null;
}

const ROUND_TRIP_SAMPLES = 3;

export async function measureFamily(
  stack: BenchStack,
  processes: ProcessGroups,
  family: Family,
  options: {
    connections: number;
    hashMs: number;
    /** Around the measured run only (not the warm-up): the profiler. */
    around?: (run: () => Promise<void>) => Promise<void>;
  },
): Promise<FamilyResult> {
  const url = new URL(stack.base);
  const run = (amount: number) =>
    autocannon({
      url: url.origin,
      connections: options.connections,
      pipelining: 1,
      amount,
      timeout: 30,
      idReplacement: true,
      requests: [family.request],
    });
  // Warm-up: JIT, caches (tenant keys), connection pools; not counted.
  await run(Math.max(options.connections * 2, Math.round(family.amount / 10)));

  const trips: number[] = [];
  for (let i = 0; i < ROUND_TRIP_SAMPLES; i++) {
    const requestId = `bench-${family.name.replace(/\W+/g, '-')}-${Date.now()}-${i}`;
    const response = await family.once(requestId);
    if (response.status >= 400)
      throw new Error(`${family.name} answered ${response.status}: ${await response.text()}`);
    await response.body?.cancel().catch(() => undefined);
    trips.push(await roundTripsOf(stack, requestId));
  }
  trips.sort((a, b) => a - b);

  const workerdBefore = cpuMs(processes.workerd);
  const proxyBefore = cpuMs(processes.proxy);
  let result!: Awaited<ReturnType<typeof run>>;
  const measured = async (): Promise<void> => {
    result = await run(family.amount);
  };
  await (options.around === undefined ? measured() : options.around(measured));
  const workerdCpu = cpuMs(processes.workerd) - workerdBefore;
  const proxyCpu = cpuMs(processes.proxy) - proxyBefore;

  const completed = result['2xx'] + result.non2xx;
  const budget = family.cpuBudgetMs?.(options.hashMs) ?? null;
  const perRequest = workerdCpu / Math.max(1, completed);
  return {
    name: family.name,
    requests: completed,
    connections: options.connections,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    requestsPerSecond: completed / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    sqlRoundTrips: trips[Math.floor(trips.length / 2)]!,
    workerdCpuMsPerRequest: perRequest,
    proxyCpuMsPerRequest: proxyCpu / Math.max(1, completed),
    cpuBudgetMs: budget,
    withinBudget: budget === null ? null : perRequest <= budget,
  };
}

export interface HashCeiling {
  iterations: number;
  /** CPU time of one PBKDF2-HMAC-SHA-256 derivation (the password hash's), in ms. */
  hashMs: number;
  /** Wall time of one, median: above hashMs when other processes share the cores. */
  wallMs: number;
  /** Derivations per second one core sustains: 1000 / hashMs. */
  perSecond: number;
}

/**
 * The PBKDF2 single-core ceiling: sequential derivations at the password hasher's iteration count
 * (WebCrypto, as the Worker hashes) in this Node process while the stack is idle, timed by this
 * process's CPU time (WebCrypto derives on libuv's threads, which process.cpuUsage includes), so
 * other processes on the machine do not inflate it.
 */
export async function measureHashCeiling(runs = 25): Promise<HashCeiling> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode('a benchmark password, not a secret'),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const derive = () =>
    crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: PBKDF2_ITERATIONS },
      key,
      256,
    );
  await derive();
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await derive();
    times.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuBefore);
  times.sort((a, b) => a - b);
  const hashMs = (cpu.user + cpu.system) / 1000 / runs;
  return {
    iterations: PBKDF2_ITERATIONS,
    hashMs,
    wallMs: times[Math.floor(times.length / 2)]!,
    perSecond: 1000 / hashMs,
  };
}
