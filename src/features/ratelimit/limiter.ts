import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis/cloudflare';

/** One counter to charge: its full key and the limit it is held to. */
export interface LimitRequest {
  key: string;
  limit: number;
  windowSeconds: number;
}

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the current window ends. */
  resetAt: number;
}

/** The seam on Deps: tests hand in a broken or counting one. */
export interface RateLimiter {
  /** Charges one request to every counter, in one Redis round trip; results in request order. */
  hit(requests: LimitRequest[]): Promise<LimitResult[]>;
  /**
   * Claims each key for `windowSeconds` if nobody holds it (SET NX EX), in one round trip: true
   * for the keys this call claimed. How a refusal is recorded once per window, not per request.
   */
  claim(requests: Array<{ key: string; windowSeconds: number }>): Promise<boolean[]>;
}

/** Redis did not answer, or not in time. Never carries the URL or token. */
export class RateLimiterUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`rate limiter unavailable: ${reason}`, options);
    this.name = 'RateLimiterUnavailableError';
  }
}

/**
 * How long a request may wait for Redis. @upstash/ratelimit's own `timeout` resolves as
 * *allowed* (fails open), so it is off (0) and this bound decides; each policy then chooses.
 */
export const RATE_LIMITER_TIMEOUT_MS = 1000;

const PREFIX = 'gatehouse:rl';

export interface UpstashLimiterOptions {
  url: string;
  token: string;
  timeoutMs?: number;
}

/**
 * Sliding-window counters in Upstash Redis via @upstash/ratelimit, and the claims beside them.
 * Each call is one Redis round trip within the bound (`withinBound`).
 */
export function createUpstashRateLimiter(options: UpstashLimiterOptions): RateLimiter {
  const timeoutMs = options.timeoutMs ?? RATE_LIMITER_TIMEOUT_MS;
  return {
    async hit(requests) {
      if (requests.length === 0) return [];
      const results = await withinBound(options, timeoutMs, (redis) =>
        Promise.all(
          requests.map((request) =>
            new Ratelimit({
              redis,
              limiter: Ratelimit.slidingWindow(request.limit, `${request.windowSeconds} s`),
              prefix: PREFIX,
              timeout: 0,
              // In-memory state would differ between isolates; Redis is the one truth.
              ephemeralCache: false,
              analytics: false,
              enableProtection: false,
              enableTelemetry: false,
            }).limit(request.key),
          ),
        ),
      );
      return results.map((result) => ({
        allowed: result.success,
        limit: result.limit,
        remaining: result.remaining,
        resetAt: result.reset,
      }));
    },

    async claim(requests) {
      if (requests.length === 0) return [];
      const replies = await withinBound(options, timeoutMs, (redis) =>
        Promise.all(
          requests.map(({ key, windowSeconds }) =>
            redis.set(`${PREFIX}:claim:${key}`, 1, { nx: true, ex: windowSeconds }),
          ),
        ),
      );
      return replies.map((reply) => reply === 'OK');
    },
  };
}

/**
 * Runs `work` on a fresh client: its auto-pipeline sends every command in one POST /pipeline,
 * and its abort signal ends that request when the bound passes. No retries: a retry cannot beat
 * the bound.
 */
async function withinBound<T>(
  options: UpstashLimiterOptions,
  timeoutMs: number,
  work: (redis: Redis) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const redis = new Redis({
    url: options.url,
    token: options.token,
    retry: { retries: 0 },
    enableTelemetry: false,
    enableAutoPipelining: true,
    // A function, so an aborted request throws instead of resolving as a fake "Aborted" reply.
    signal: () => controller.signal,
  });
  const pending = work(redis);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new RateLimiterUnavailableError(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([pending, deadline]);
  } catch (error) {
    if (error instanceof RateLimiterUnavailableError) throw error;
    throw new RateLimiterUnavailableError('redis request failed', { cause: error });
  } finally {
    clearTimeout(timer);
    // The losing side of the race must not surface as an unhandled rejection.
    void pending.catch(() => undefined);
  }
}

/** For a deployment without Redis settings (development only: production refuses to start). */
export const unconfiguredRateLimiter: RateLimiter = {
  hit: () => Promise.reject(new RateLimiterUnavailableError('UPSTASH_REDIS_REST_URL is not set')),
  claim: () => Promise.reject(new RateLimiterUnavailableError('UPSTASH_REDIS_REST_URL is not set')),
};
