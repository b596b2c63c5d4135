// `npm run cli -- metrics`: the four checklist figures over a window, read from the per-minute
// counters the Worker writes (src/features/metrics/store.ts), here into the local Upstash endpoint.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWindow } from '../../scripts/commands/metrics.ts';
import { writeSample } from '../../src/features/metrics/store.ts';
import type { RequestSample } from '../../src/features/metrics/samples.ts';
import {
  startUpstashEndpoint,
  type UpstashEndpoint,
} from '../../scripts/stack/upstash-endpoint.ts';
import { ROOT } from './dev-stack-helpers.ts';

const run = promisify(execFile);
let endpoint: UpstashEndpoint;
const slug = `cli-${Date.now().toString(36)}`;

function sample(route: string, status: number, latencySeconds: number): RequestSample {
  return {
    tenant: slug,
    method: 'POST',
    route,
    status,
    latencySeconds,
    rateLimited: [],
    loginFailures: [],
  };
}

beforeAll(async () => {
  endpoint = await startUpstashEndpoint({ backend: 'emulated' });
  const redis = { url: endpoint.url, token: endpoint.token };
  const now = Date.now();
  const recent = new Date(now - 3 * 60_000);
  // In the 15-minute window: 20 logins (19 fast, 1 slow; 5 of them 401), 4 MFA challenges
  // (1 of them 429), 1 server error elsewhere.
  for (let i = 0; i < 20; i++)
    await writeSample(
      redis,
      sample('/v1/auth/login', i < 5 ? 401 : 200, i === 0 ? 3 : 0.04),
      recent,
    );
  for (let i = 0; i < 4; i++)
    await writeSample(redis, sample('/v1/auth/mfa/challenge', i === 0 ? 429 : 200, 0.02), recent);
  await writeSample(redis, sample('/v1/auth/register', 500, 0.1), recent);
  // Outside it (40 minutes ago): only failures, which a 15-minute window must not see.
  const old = new Date(now - 40 * 60_000);
  for (let i = 0; i < 10; i++) await writeSample(redis, sample('/v1/auth/login', 401, 8), old);
}, 60_000);

afterAll(() => endpoint?.close());

async function cli(args: string[]) {
  return run(process.execPath, ['scripts/cli.ts', 'metrics', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      UPSTASH_REDIS_REST_URL: endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: endpoint.token,
    },
  });
}

describe('npm run cli -- metrics', () => {
  it('prints p95 login latency, 5xx rate, 401 rate on login and 429 rate on the MFA challenge over the window', async () => {
    const { stdout } = await cli(['--tenant', slug, '--window', '15m', '--json']);
    const figures = JSON.parse(stdout) as Record<string, number>;
    expect(figures).toMatchObject({
      window_minutes: 15,
      requests: 25,
      loginRequests: 20,
      mfaChallengeRequests: 4,
    });
    // 19 of 20 in the (0.025, 0.05] bucket: the 95th percentile (rank 19) is its upper bound.
    expect(figures.loginLatencyP95).toBeCloseTo(0.05);
    expect(figures.serverErrorRate).toBeCloseTo(1 / 25);
    expect(figures.loginUnauthorizedRate).toBeCloseTo(5 / 20);
    expect(figures.mfaChallengeTooManyRate).toBeCloseTo(1 / 4);
  });

  it('takes the older minutes in with a longer window', async () => {
    const { stdout } = await cli(['--tenant', slug, '--window', '1h']);
    expect(stdout).toContain('35 requests, 30 logins');
    expect(stdout).toMatch(/401 rate on login +50\.00 %/);
    // 28.5th of 30: 8.5 of the 10 in (5, 10], interpolated as histogram_quantile does.
    expect(stdout).toMatch(/p95 login latency +9\.250 s/);
  });

  it('refuses a window it cannot answer and a missing tenant (exit 1)', async () => {
    await expect(cli(['--tenant', slug, '--window', '2d'])).rejects.toMatchObject({ code: 1 });
    await expect(cli(['--window', '15m'])).rejects.toMatchObject({ code: 1 });
    expect([parseWindow('15m'), parseWindow('2h'), parseWindow('0m'), parseWindow('15')]).toEqual([
      15,
      120,
      null,
      null,
    ]);
  });
});
