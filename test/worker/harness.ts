// Drives the real Worker entry inside workerd, with real bindings, one request at a time, and
// reports what production would charge for it: SQL round trips, subrequests, log lines.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { createFetchHandler, type AppOptions, type FetchHandler } from '../../src/app.ts';
import type { Env } from '../../src/env.ts';
import worker from '../../src/index.ts';
import { MAX_SUBREQUESTS, requestBudget } from './limits.ts';

export interface TestEnv extends Env {
  TEST_NEON_CONTROL_URL: string;
  TEST_SCRATCH_DATABASE_URL: string;
  /** A migrated database of the SECRET_KEY rotation test's own (it reseals every row). */
  TEST_ROTATION_DATABASE_URL: string;
  TEST_SMTP_CONTROL_URL: string;
}

export const testEnv = env as unknown as TestEnv;

export interface Sent {
  response: Response;
  requestId: string;
  subrequests: number;
  /** URLs of the outbound fetches made for the request, waitUntil work included. */
  calls: string[];
  /** Console lines the Worker wrote while handling the request. */
  logs: string[];
  roundTrips(): Promise<number>;
  json<T = Record<string, unknown>>(): Promise<T>;
}

export interface SendOptions {
  env?: Partial<TestEnv>;
  /** Use an app with these options (overridden deps) instead of the Worker's default export. */
  app?: AppOptions;
  baseURL?: string;
}

let sequence = 0;

/** The Worker's own fetch, or one built with `options.app`. */
function handlerFor(options: SendOptions): FetchHandler {
  if (options.app !== undefined) return createFetchHandler(options.app);
  return (request, e, ctx) =>
    worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, e, ctx);
}

export async function send(
  path: string,
  init: RequestInit = {},
  options: SendOptions = {},
): Promise<Sent> {
  const requestId = `test-${Date.now().toString(36)}-${(sequence++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const headers = new Headers(init.headers);
  if (!headers.has('X-Request-Id')) headers.set('X-Request-Id', requestId);
  const request = new Request(new URL(path, options.baseURL ?? 'https://gatehouse.test'), {
    ...init,
    headers,
  });
  const ctx = createExecutionContext();
  const bindings = options.env === undefined ? env : { ...env, ...options.env };
  const budget = { subrequests: 0, calls: [] as string[], logs: [] as string[] };
  const response = await requestBudget.run(budget, async () => {
    const res = await handlerFor(options)(request, bindings as Env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  });
  expect(budget.subrequests, 'subrequests for one request').toBeLessThanOrEqual(MAX_SUBREQUESTS);
  const id = headers.get('X-Request-Id') ?? requestId;
  let body: unknown;
  return {
    response,
    requestId: id,
    subrequests: budget.subrequests,
    calls: budget.calls,
    logs: budget.logs,
    roundTrips: () => roundTrips(id),
    async json<T>() {
      body ??= await response.json();
      return body as T;
    },
  };
}

/**
 * Runs a handler that is not a fetch (a cron tick, a queue batch) under the same production
 * limits as `send`: its subrequests are counted and more than MAX_SUBREQUESTS fail it.
 */
export async function withinInvocationLimits<T>(
  run: () => Promise<T>,
): Promise<{ result: T; subrequests: number }> {
  const budget = { subrequests: 0, calls: [] as string[], logs: [] as string[] };
  const result = await requestBudget.run(budget, run);
  expect(budget.subrequests, 'subrequests for one invocation').toBeLessThanOrEqual(MAX_SUBREQUESTS);
  return { result, subrequests: budget.subrequests };
}

export async function roundTrips(requestId: string): Promise<number> {
  const res = await fetch(
    `${testEnv.TEST_NEON_CONTROL_URL}/__roundtrips/${encodeURIComponent(requestId)}`,
  );
  const body = (await res.json()) as { round_trips: number };
  return body.round_trips;
}

export function jsonRequest(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  };
}
