// What one request contributes to the metrics, and the fixed shape both stores share.

/**
 * Upper bounds (seconds) of the latency histogram. Fixed, so every isolate adds into the same
 * buckets and Prometheus can aggregate them; they span a cached read (5 ms) to a slow login with
 * its password hash and timing floor (seconds).
 */
export const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** The label of a request whose tenant was never resolved (admin API, unknown tenant, refused early). */
export const NO_TENANT = '-';

/** The route label of a request no route matched (a 404): one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** One finished request: labels from the matched route template, never the raw path. */
export interface RequestSample {
  tenant: string;
  method: string;
  route: string;
  status: number;
  latencySeconds: number;
  /** Rate-limit policies that refused this request (src/features/ratelimit/enforce.ts). */
  rateLimited: string[];
  /** Why a login failed (src/features/lockout/repo.ts LoginFailureReason), if it did. */
  loginFailures: string[];
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** Index of the bucket `seconds` falls in; LATENCY_BUCKETS_SECONDS.length is +Inf. */
export function bucketIndex(seconds: number): number {
  const index = LATENCY_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  return index === -1 ? LATENCY_BUCKETS_SECONDS.length : index;
}

/**
 * The hash fields one request increments (the same in the cumulative and the per-minute hash):
 * `req|method|route|status`, `lat|method|route|bucket`, `latsum|method|route` (microseconds, so
 * HINCRBY stays integral), `rl|policy`, `lf|reason`. Route templates hold no `|`.
 */
export function sampleFields(sample: RequestSample): Array<[field: string, increment: number]> {
  const series = `${sample.method}|${sample.route}`;
  return [
    [`req|${series}|${sample.status}`, 1],
    [`lat|${series}|${bucketIndex(sample.latencySeconds)}`, 1],
    [`latsum|${series}`, Math.max(0, Math.round(sample.latencySeconds * 1e6))],
    ...sample.rateLimited.map((policy): [string, number] => [`rl|${policy}`, 1]),
    ...sample.loginFailures.map((reason): [string, number] => [`lf|${reason}`, 1]),
  ];
}

/** Counters of one tenant, as read back: field → value. */
export type TenantCounters = Map<string, number>;

/** Adds hash replies (HGETALL as a flat [field, value, …] list or an object) into `into`. */
export function addCounters(into: TenantCounters, reply: unknown): void {
  const pairs: Array<[string, unknown]> = Array.isArray(reply)
    ? Array.from({ length: Math.floor(reply.length / 2) }, (_, i) => [
        String(reply[2 * i]),
        reply[2 * i + 1],
      ])
    : typeof reply === 'object' && reply !== null
      ? Object.entries(reply)
      : [];
  for (const [field, value] of pairs) {
    const number = Number(value);
    if (Number.isFinite(number)) into.set(field, (into.get(field) ?? 0) + number);
  }
}
