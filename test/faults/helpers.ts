// Fault suite helpers: the control endpoint (test/faults/stack.ts), timing, and log checks.
import { expect } from 'vitest';
import { testEnv, type Sent } from '../worker/harness.ts';

interface FaultEnv {
  TEST_FAULT_CONTROL_URL: string;
  TEST_FAULT_SKIP_REASON: string;
}

const faultEnv = testEnv as unknown as FaultEnv;

/** Non-empty where PostgreSQL or redis-server is missing outside CI (global setup said so). */
export const SKIP_REASON = faultEnv.TEST_FAULT_SKIP_REASON;

/** The suite's deadlines (vitest.config.ts) and Redis's (RATE_LIMITER_TIMEOUT_MS). */
export const STATEMENT_TIMEOUT_MS = 1000;
export const REQUEST_TIMEOUT_MS = 2500;
/** Room for a loaded 2-core machine on top of a deadline: scheduling, the timing floor. */
export const SLACK_MS = 2000;

export async function fault(
  target: 'postgres' | 'redis',
  action: 'pause' | 'resume' | 'kill' | 'start',
): Promise<void> {
  const res = await fetch(`${faultEnv.TEST_FAULT_CONTROL_URL}/${target}/${action}`, {
    method: 'POST',
  });
  if (res.status !== 204) throw new Error(`${target}/${action} failed: ${await res.text()}`);
}

/** Runs `work` and reports how long it took (wall time; workerd's clock moves with I/O). */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

/** Asserts the 503 a failed dependency answers, and the one log line naming it. */
export async function expectUnavailable(
  sent: Sent,
  code: string,
  dependency: 'database' | 'redis',
): Promise<void> {
  expect(sent.response.status).toBe(503);
  expect(await sent.json()).toMatchObject({ error: code });
  expect(Number(sent.response.headers.get('Retry-After'))).toBeGreaterThan(0);
  const named = sent.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.dependency !== undefined);
  expect(named.map((line) => line.dependency)).toEqual([dependency]);
  expect(sent.logs.join('\n')).not.toContain('unhandled error');
}

/** Figures for the README: the slowest answer seen per scenario, printed at the end of a file. */
export const observed: Record<string, number> = {};

export function record(scenario: string, ms: number): void {
  observed[scenario] = Math.max(observed[scenario] ?? 0, ms);
}
