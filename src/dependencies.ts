// What a request does when something it waits on fails: the database, Redis (rate limits), R2
// (backups) or a queue. Each wait has a deadline; a timeout, a refused connection or a server error
// becomes `503 {dependency}_unavailable` with Retry-After, so a client retries instead of hanging or
// seeing a 500, and the isolate's concurrency is given back.
import { AppError, type ErrorCode } from './errors.ts';

export type Dependency = 'database' | 'redis' | 'r2' | 'queue';

/** Seconds a client is told to wait before retrying: long enough for a failover or a restart. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

const CODES: Record<Dependency, ErrorCode> = {
  database: 'database_unavailable',
  redis: 'rate_limiter_unavailable',
  r2: 'storage_unavailable',
  queue: 'queue_unavailable',
};

/** A dependency did not answer in time, refused the connection, or failed on its side. */
export class DependencyUnavailableError extends Error {
  readonly dependency: Dependency;
  constructor(dependency: Dependency, reason: string, options?: { cause?: unknown }) {
    super(`${dependency} unavailable: ${reason}`, options);
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
  }
}

/**
 * SQLSTATE classes that mean the database, not the query, failed: 08 connection exception, 57P
 * operator intervention (admin/crash shutdown, cannot connect now), 53 insufficient resources
 * (too many connections, out of memory or disk). Source: PostgreSQL docs, Appendix A.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P..|53...)$/;

/**
 * The dependency whose failure `error` is, wherever a driver wrapped it: drizzle keeps the
 * driver's error as `cause`, Neon's HTTP driver keeps a fetch failure as `sourceError`. Null for
 * anything else (a unique violation keeps its meaning).
 */
export function failedDependency(error: unknown): Dependency | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof DependencyUnavailableError) return e.dependency;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code)) return 'database';
    queue.push((e as { cause?: unknown }).cause, (e as { sourceError?: unknown }).sourceError);
  }
  return null;
}

/** The `503` a request answers when `error` is a dependency's failure; null otherwise. */
export function unavailableAnswer(
  error: unknown,
): { dependency: Dependency; error: AppError } | null {
  const dependency = failedDependency(error);
  if (dependency === null) return null;
  return {
    dependency,
    error: new AppError(CODES[dependency], `the ${dependency} is unavailable; retry shortly`, {
      cause: error,
      headers: { 'Retry-After': String(DEPENDENCY_RETRY_AFTER_SECONDS) },
    }),
  };
}

/**
 * How long a request waits on R2 or a queue before answering 503 (storage_unavailable,
 * queue_unavailable). Both answer in tens of milliseconds when healthy.
 */
export const BINDING_TIMEOUT_MS = 5_000;

/**
 * Runs `work` with an abort signal that fires after `timeoutMs`; a timeout or any failure of the
 * call becomes DependencyUnavailableError. For calls whose every failure is the dependency's (R2,
 * queue sends); database calls classify their errors themselves.
 */
export async function withDeadline<T>(
  dependency: Dependency,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DependencyUnavailableError(dependency, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const pending = work(controller.signal);
  try {
    return await Promise.race([pending, deadline]);
  } catch (error) {
    if (error instanceof DependencyUnavailableError || error instanceof AppError) throw error;
    throw new DependencyUnavailableError(dependency, 'call failed', { cause: error });
  } finally {
    clearTimeout(timer);
    // The losing side of the race must not surface as an unhandled rejection.
    void pending.catch(() => undefined);
  }
}
