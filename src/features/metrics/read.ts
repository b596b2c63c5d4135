import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { TenantCounters } from './samples.ts';
import { readTotals } from './store.ts';

/**
 * Every tenant's cumulative counters (or one tenant's, for a key bound to it), from Redis: two
 * Redis round trips. 503 metrics_unavailable when there is no store or it does not answer. The
 * admin API's /metrics and the console's metrics page both read through here.
 */
export async function readMetricsTotals(
  deps: Deps,
  only: string | null,
): Promise<Map<string, TenantCounters>> {
  const redis = deps.config.redis;
  if (redis === null)
    throw new AppError(
      'metrics_unavailable',
      'no metrics store: UPSTASH_REDIS_REST_URL is not set',
    );
  try {
    return await readTotals(redis, new Date(), only === null ? {} : { only });
  } catch (error) {
    throw new AppError('metrics_unavailable', 'the metrics store did not answer; retry shortly', {
      cause: error,
      headers: { 'Retry-After': '5' },
    });
  }
}
