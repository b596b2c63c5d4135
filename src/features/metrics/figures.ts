// The four checklist figures over a window: p95 login latency, the 5xx rate, the 401 rate on
// login and the 429 rate on the MFA challenge. The same arithmetic as the README's alert rules.
import { LATENCY_BUCKETS_SECONDS, type TenantCounters } from './samples.ts';

export const LOGIN_SERIES = 'POST|/v1/auth/login';
export const MFA_CHALLENGE_SERIES = 'POST|/v1/auth/mfa/challenge';

export interface ChecklistFigures {
  requests: number;
  loginRequests: number;
  mfaChallengeRequests: number;
  /** Seconds; null without login requests. Interpolated inside a bucket, as histogram_quantile. */
  loginLatencyP95: number | null;
  /** Fractions 0..1; null when there was nothing to divide by. */
  serverErrorRate: number | null;
  loginUnauthorizedRate: number | null;
  mfaChallengeTooManyRate: number | null;
}

function requestsWhere(
  counters: TenantCounters,
  match: (series: string, status: number) => boolean,
): number {
  let total = 0;
  for (const [field, value] of counters) {
    const parts = field.split('|');
    if (parts[0] !== 'req' || parts.length !== 4) continue;
    if (match(`${parts[1]}|${parts[2]}`, Number(parts[3]))) total += value;
  }
  return total;
}

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/** The q-quantile of one series' histogram, Prometheus' way: linear within the bucket. */
export function histogramQuantile(
  counters: TenantCounters,
  series: string,
  q: number,
): number | null {
  const buckets = Array.from(
    { length: LATENCY_BUCKETS_SECONDS.length + 1 },
    (_, index) => counters.get(`lat|${series}|${index}`) ?? 0,
  );
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let index = 0; index < buckets.length; index++) {
    const count = buckets[index]!;
    if (below + count >= rank && count > 0) {
      // Past the last finite bound, the answer is that bound (as histogram_quantile does).
      if (index === LATENCY_BUCKETS_SECONDS.length) return LATENCY_BUCKETS_SECONDS.at(-1)!;
      const lower = index === 0 ? 0 : LATENCY_BUCKETS_SECONDS[index - 1]!;
      const upper = LATENCY_BUCKETS_SECONDS[index]!;
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return LATENCY_BUCKETS_SECONDS.at(-1)!;
}

export function checklistFigures(counters: TenantCounters): ChecklistFigures {
  const requests = requestsWhere(counters, () => true);
  const loginRequests = requestsWhere(counters, (series) => series === LOGIN_SERIES);
  const mfaChallengeRequests = requestsWhere(counters, (series) => series === MFA_CHALLENGE_SERIES);
  return {
    requests,
    loginRequests,
    mfaChallengeRequests,
    loginLatencyP95: histogramQuantile(counters, LOGIN_SERIES, 0.95),
    serverErrorRate: ratio(
      requestsWhere(counters, (_, status) => status >= 500),
      requests,
    ),
    loginUnauthorizedRate: ratio(
      requestsWhere(counters, (series, status) => series === LOGIN_SERIES && status === 401),
      loginRequests,
    ),
    mfaChallengeTooManyRate: ratio(
      requestsWhere(
        counters,
        (series, status) => series === MFA_CHALLENGE_SERIES && status === 429,
      ),
      mfaChallengeRequests,
    ),
  };
}
