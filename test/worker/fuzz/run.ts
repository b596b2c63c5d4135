// Runs one route family's fuzz: batches of generated hostile requests sent concurrently to the
// real Worker, asserting no 5xx, a stable error code on every 4xx, no stack trace in any body,
// and no row written (the caller compares its own rows before and after).
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { z } from 'zod';
import { createFetchHandler } from '../../../src/app.ts';
import type { Env } from '../../../src/env.ts';
import { ERROR_CODES } from '../../../src/errors.ts';
import type { RateLimiter } from '../../../src/features/ratelimit/limiter.ts';
import type { RouteDoc } from '../../../src/http/openapi.ts';
import { allRouteDocs } from '../../../src/route-docs.ts';
import { MAX_SUBREQUESTS, requestBudget } from '../limits.ts';
import type { BodyShape } from './arbitraries.ts';

/** Requests sent concurrently per property run. */
export const BATCH = 25;
/** The CI seed; `GATEHOUSE_FUZZ_SEED=random` or a number replaces it. */
export const DEFAULT_SEED = 20_261_202;
/** Requests per family in CI; `GATEHOUSE_FUZZ_RUNS` replaces it. */
export const DEFAULT_REQUESTS = 1_000;

const bindings = env as unknown as Env & {
  GATEHOUSE_FUZZ_SEED?: string;
  GATEHOUSE_FUZZ_RUNS?: string;
};

export function fuzzSeed(): number {
  const setting = bindings.GATEHOUSE_FUZZ_SEED?.trim() ?? '';
  if (setting === '') return DEFAULT_SEED;
  if (setting === 'random') return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const seed = Number(setting);
  if (!Number.isInteger(seed))
    throw new Error(`GATEHOUSE_FUZZ_SEED must be an integer or "random"`);
  return seed;
}

export function fuzzRequests(): number {
  const setting = Number(bindings.GATEHOUSE_FUZZ_RUNS?.trim() || DEFAULT_REQUESTS);
  if (!Number.isInteger(setting) || setting < 1)
    throw new Error('GATEHOUSE_FUZZ_RUNS must be a positive integer');
  return setting;
}

/** A test's time limit that grows with GATEHOUSE_FUZZ_RUNS (credential routes sleep their floor). */
export function fuzzTimeout(): number {
  return 30_000 + fuzzRequests() * 40;
}

/** Every limit allows: the fuzz is after parsing, and 429s would hide the routes behind them. */
const allowAll: RateLimiter = {
  hit: async (requests) =>
    requests.map((r) => ({
      allowed: true,
      limit: r.limit,
      remaining: r.limit,
      resetAt: Date.now() + 60_000,
    })),
  claim: async (requests) => requests.map(() => true),
};

/** A fast stand-in for the archive KDF: junk archives need a wrong key, not 600,000 rounds. */
const fastKDF = async (): Promise<Uint8Array> => new Uint8Array(32);

const handler = createFetchHandler({
  overrideDeps: () => ({ rateLimiter: allowAll, archiveKDF: fastKDF }),
});

export interface Sent {
  method: string;
  status: number;
  text: string;
  contentType: string;
  logs: string[];
}

export async function fire(request: Request): Promise<Sent> {
  const ctx = createExecutionContext();
  const budget = { subrequests: 0, calls: [] as string[], logs: [] as string[] };
  const response = await requestBudget.run(budget, async () => {
    const res = await handler(request, env as Env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  });
  if (budget.subrequests > MAX_SUBREQUESTS) throw new Error(`${budget.subrequests} subrequests`);
  return {
    method: request.method,
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('Content-Type') ?? '',
    logs: budget.logs,
  };
}

/** A generated request and whether it carries a defect the service must refuse. */
export interface FuzzRequest {
  label: string;
  build(): Request;
  mustRefuse: boolean;
}

const KNOWN_CODES = new Set<string>(ERROR_CODES);
const STACK =
  /\n\s+at |\bat [\w.<>]+ \(|(?:TypeError|RangeError|SyntaxError|URIError|NeonDbError): /;

/** Why a response breaks the rules, or null. */
export function violation(sent: Sent, request: FuzzRequest): string | null {
  if (sent.status >= 500) return `answered ${sent.status}`;
  if (STACK.test(sent.text)) return 'a stack trace or internal error in the body';
  if (sent.status >= 400 && sent.method !== 'HEAD') {
    if (!/^application\/json/.test(sent.contentType)) return `a ${sent.status} that is not JSON`;
    let body: { error?: unknown; error_description?: unknown };
    try {
      body = JSON.parse(sent.text) as typeof body;
    } catch {
      return `a ${sent.status} whose body is not JSON`;
    }
    if (typeof body.error !== 'string' || !KNOWN_CODES.has(body.error))
      return `a ${sent.status} without a stable code: ${String(body.error)}`;
    if (typeof body.error_description !== 'string') return 'no error_description';
  }
  if (sent.status < 400 && request.mustRefuse) {
    return `accepted (${sent.status}) though it carries a defect`;
  }
  return null;
}

export interface FamilyReport {
  family: string;
  seed: number;
  requests: number;
  serverErrors: number;
  statuses: Record<number, number>;
  kinds: Record<string, number>;
  seconds: number;
}

/**
 * Sends `total` requests in batches of BATCH (each batch one property run, so a failure shrinks to
 * a small batch) and throws with the seed on the first broken rule.
 */
export async function runFamily(
  family: string,
  request: fc.Arbitrary<FuzzRequest>,
  total = fuzzRequests(),
): Promise<FamilyReport> {
  const seed = fuzzSeed();
  const started = Date.now();
  const report: FamilyReport = {
    family,
    seed,
    requests: 0,
    serverErrors: 0,
    statuses: {},
    kinds: {},
    seconds: 0,
  };
  const numRuns = Math.ceil(total / BATCH);
  let firstProblem: string | null = null;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const results = await Promise.all(
          batch.map(async (r) => ({
            r,
            // An exception out of the fetch handler is what `wrangler dev` answers 500 for.
            sent: await fire(r.build()).catch((error: unknown): Sent => ({
              method: 'POST',
              status: 599,
              text: `the handler threw ${String(error)}`,
              contentType: '',
              logs: [],
            })),
          })),
        );
        for (const { r, sent } of results) {
          report.requests += 1;
          report.statuses[sent.status] = (report.statuses[sent.status] ?? 0) + 1;
          const kind = r.label.split(' ')[0]!;
          report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
          if (sent.status >= 500) report.serverErrors += 1;
          const problem = violation(sent, r);
          if (problem !== null) {
            const message = `${problem}: ${r.label}\n  → ${sent.status} ${sent.text.slice(0, 300)}`;
            firstProblem ??= message;
            throw new Error(message);
          }
        }
      }),
      { seed, numRuns, endOnFailure: true },
    );
  } catch (error) {
    // fast-check's message names the seed and path; say how to replay it.
    // fast-check's first line names the seed and path; the counterexample is the whole batch.
    const summary = String(error).split('\n')[0];
    throw new Error(
      `fuzz ${family} failed with seed ${seed} (replay: GATEHOUSE_FUZZ_SEED=${seed} npx vitest run --project worker test/worker/fuzz)\n${summary}\n${firstProblem ?? String(error)}`,
    );
  }
  report.seconds = (Date.now() - started) / 1000;
  console.log(
    `fuzz ${family}: ${report.requests} requests, ${report.serverErrors} 5xx, seed ${seed}, ${report.seconds}s, statuses ${JSON.stringify(report.statuses)}`,
  );
  return report;
}

/** The email flows (verification, password reset, one-time codes): a family of their own. */
export function isEmailRoute(path: string): boolean {
  return (
    path.startsWith('/v1/auth/email') ||
    path === '/v1/auth/password/forgot' ||
    path === '/v1/auth/password/reset'
  );
}

/** The documented routes of a family, with what their body schemas say. */
export function familyRoutes(
  matches: (route: RouteDoc) => boolean,
): (RouteDoc & { shape: BodyShape })[] {
  return allRouteDocs()
    .filter(matches)
    .map((route) => ({ ...route, shape: bodyShape(route.body) }));
}

function bodyShape(schema: z.ZodType | undefined): BodyShape {
  if (schema === undefined) return { fields: [], typed: [], required: [] };
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string | string[] }>;
    required?: string[];
  };
  const properties = json.properties ?? {};
  const required = json.required ?? [];
  const typed = required.flatMap((name) => {
    const type = properties[name]?.type;
    if (type === undefined) return [];
    return [{ name, types: Array.isArray(type) ? type : [type] }];
  });
  return { fields: Object.keys(properties), typed, required };
}
