// `npm run cli -- metrics --tenant <slug> [--window 15m] [--json]`: the production checklist's
// four figures for one tenant over a window, read from the per-minute counters in the shared
// Redis (the same store the Worker writes; UPSTASH_REDIS_REST_URL and _TOKEN as it has them).
// Redis rather than the admin endpoint: the endpoint serves cumulative counters for Prometheus,
// which cannot give a window without a second scrape.
import { parseArgs } from 'node:util';
import { checklistFigures, type ChecklistFigures } from '../../src/features/metrics/figures.ts';
import {
  MAX_WINDOW_MINUTES,
  readWindow,
  type RedisREST,
} from '../../src/features/metrics/store.ts';

/** `15m`, `2h`, `1d` → minutes; null when unreadable or outside 1 minute .. 24 hours. */
export function parseWindow(text: string): number | null {
  const match = /^(\d+)([mhd])$/.exec(text.trim());
  if (match === null) return null;
  const minutes = Number(match[1]) * { m: 1, h: 60, d: 1440 }[match[2] as 'm' | 'h' | 'd'];
  return minutes >= 1 && minutes <= MAX_WINDOW_MINUTES ? minutes : null;
}

const percent = (value: number | null): string =>
  value === null ? 'n/a' : `${(value * 100).toFixed(2)} %`;

export function formatFigures(slug: string, window: string, figures: ChecklistFigures): string {
  return [
    `tenant ${slug}, last ${window}: ${figures.requests} requests, ${figures.loginRequests} logins, ${figures.mfaChallengeRequests} MFA challenges`,
    `  p95 login latency        ${figures.loginLatencyP95 === null ? 'n/a' : `${figures.loginLatencyP95.toFixed(3)} s`}`,
    `  5xx rate                 ${percent(figures.serverErrorRate)}`,
    `  401 rate on login        ${percent(figures.loginUnauthorizedRate)}`,
    `  429 rate on MFA challenge ${percent(figures.mfaChallengeTooManyRate)}`,
  ].join('\n');
}

export async function metricsCommand(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  now: Date = new Date(),
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      window: { type: 'string', default: '15m' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.tenant === undefined) throw new Error('--tenant <slug> is required');
  const minutes = parseWindow(values.window);
  if (minutes === null) throw new Error('--window must be like 15m, 2h or 1d (at most 24h)');
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  if (!url || !token)
    throw new Error('UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are required');
  const redis: RedisREST = { url, token };
  const figures = checklistFigures(await readWindow(redis, values.tenant, minutes, now));
  if (values.json) {
    console.log(JSON.stringify({ tenant: values.tenant, window_minutes: minutes, ...figures }));
  } else console.log(formatFigures(values.tenant, values.window, figures));
  return 0;
}
