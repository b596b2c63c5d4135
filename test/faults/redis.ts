// Issue 11, fault suite: Redis (the rate limiter's store) hung and then down. The README promises
// `503 rate_limiter_unavailable` with Retry-After within RATE_LIMITER_TIMEOUT_MS (1 s) for the
// policies that fail closed; registration is one. Redis stays down for the rest of this file.
import { describe, expect, it } from 'vitest';
import { RATE_LIMITER_TIMEOUT_MS } from '../../src/features/ratelimit/limiter.ts';
import { makeTenant, uniqueEmail, type TestTenant } from '../worker/fixtures.ts';
import { jsonRequest, send, type Sent } from '../worker/harness.ts';
import { SKIP_REASON, SLACK_MS, expectUnavailable, fault, record, timed } from './helpers.ts';

let ip = 0;

function register(tenant: TestTenant): Promise<Sent> {
  ip += 1;
  return send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest(
      'POST',
      { email: uniqueEmail(), password: 'correct horse battery' },
      { 'CF-Connecting-IP': `192.0.2.${ip}` },
    ),
  );
}

describe.skipIf(SKIP_REASON !== '')('Redis fails', () => {
  it('hung: 503 rate_limiter_unavailable within the limiter bound, then 201 once it resumes', async () => {
    const tenant = await makeTenant();
    expect((await register(tenant)).response.status).toBe(201);
    await fault('redis', 'pause');
    try {
      const { result, ms } = await timed(() => Promise.all([register(tenant), register(tenant)]));
      record('redis hung → 503 (2 concurrent)', ms);
      for (const sent of result) await expectUnavailable(sent, 'rate_limiter_unavailable', 'redis');
      expect(ms).toBeGreaterThanOrEqual(RATE_LIMITER_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(RATE_LIMITER_TIMEOUT_MS + SLACK_MS);
    } finally {
      await fault('redis', 'resume');
    }
    expect((await register(tenant)).response.status).toBe(201);
  });

  it('down: 503 rate_limiter_unavailable at once, not a 500', async () => {
    const tenant = await makeTenant();
    await fault('redis', 'kill');
    const { result, ms } = await timed(() => register(tenant));
    record('redis down → 503', ms);
    await expectUnavailable(result, 'rate_limiter_unavailable', 'redis');
    expect(ms).toBeLessThan(RATE_LIMITER_TIMEOUT_MS + SLACK_MS);
  });
});
