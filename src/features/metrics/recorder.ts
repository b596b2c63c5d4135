import type { Logger } from '../../log.ts';
import { describeError } from '../../log.ts';
import { statusClass, type RequestSample } from './samples.ts';
import { writeSample, type RedisREST } from './store.ts';

/** The seam on Deps: features report what happened, the app middleware writes it once. */
export interface MetricsRecorder {
  /** A rate-limit policy refused this request. */
  rateLimited(policy: string): void;
  /** A login failed for this reason (the audit log's reason; never sent to the client). */
  loginFailed(reason: string): void;
  /**
   * Writes the request with what was reported: one Analytics Engine data point per series and
   * one Redis pipeline. Never rejects: a failure is logged and the sample dropped.
   */
  finish(sample: Omit<RequestSample, 'rateLimited' | 'loginFailures'>, at: Date): Promise<void>;
}

export interface RecorderOptions {
  redis: RedisREST | null;
  analytics: AnalyticsEngineDataset | null;
  log: Logger;
}

export function createMetricsRecorder(options: RecorderOptions): MetricsRecorder {
  const rateLimited: string[] = [];
  const loginFailures: string[] = [];
  return {
    rateLimited: (policy) => void rateLimited.push(policy),
    loginFailed: (reason) => void loginFailures.push(reason),
    async finish(partial, at) {
      const sample: RequestSample = { ...partial, rateLimited, loginFailures };
      try {
        if (options.analytics !== null) writeDataPoints(options.analytics, sample);
      } catch (error) {
        options.log.warn('metrics not written to Analytics Engine', describeError(error, false));
      }
      if (options.redis === null) return;
      try {
        await writeSample(options.redis, sample, at);
      } catch (error) {
        options.log.warn('metrics not written to Redis', describeError(error, false));
      }
    },
  };
}

/**
 * Workers Analytics Engine: a point per request (blob1 kind `request`), per refusal (`ratelimit`)
 * and per failed login (`login_failure`), indexed by tenant so its sampling keeps tenants apart.
 * Query with SQL over blob1..blob5 / double1..double2 (see README, Metrics).
 */
function writeDataPoints(dataset: AnalyticsEngineDataset, sample: RequestSample): void {
  const indexes = [sample.tenant];
  dataset.writeDataPoint({
    indexes,
    blobs: ['request', sample.tenant, sample.route, sample.method, statusClass(sample.status)],
    doubles: [sample.latencySeconds, sample.status],
  });
  for (const policy of sample.rateLimited) {
    dataset.writeDataPoint({ indexes, blobs: ['ratelimit', sample.tenant, sample.route, policy] });
  }
  for (const reason of sample.loginFailures) {
    dataset.writeDataPoint({
      indexes,
      blobs: ['login_failure', sample.tenant, sample.route, reason],
    });
  }
}
