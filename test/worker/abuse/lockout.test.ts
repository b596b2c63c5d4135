// Issue 5, item 2: 5 failed logins within 15 minutes lock an account for 15 minutes (per tenant;
// 0 disables). A locked account answers exactly like a wrong password, after the same one hash;
// time moves through the injected clock. Requests carry no client address, so only the
// per-account rate limit (10 an hour) applies; each test stays under it.
import { describe, expect, it } from 'vitest';
import { createDeps } from '../../../src/deps.ts';
import { unlockAccount } from '../../../src/features/lockout/service.ts';
import { createLogger } from '../../../src/log.ts';
import { makeTenant, testConfig, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { testEnv, type Sent, type SendOptions } from '../harness.ts';
import {
  PASSWORD,
  WRONG_PASSWORD,
  countingPasswords,
  fixedClock,
  login,
  register,
  type HashCounts,
} from './helpers.ts';

const MINUTE = 60_000;

function at(time: Date, counts?: HashCounts): SendOptions {
  return {
    app: {
      overrideDeps: (deps) => ({
        clock: fixedClock(time),
        ...(counts === undefined ? {} : countingPasswords(counts)(deps)),
      }),
    },
  };
}

async function newAccount(tenant: TestTenant): Promise<{ email: string; userId: string }> {
  const email = uniqueEmail();
  const sent = await register(tenant, email);
  expect(sent.response.status).toBe(201);
  return { email, userId: (await sent.json<{ user: { id: string } }>()).user.id };
}

async function fail(tenant: TestTenant, email: string, times: number, time: Date): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    expect((await login(tenant, email, WRONG_PASSWORD, {}, at(time))).response.status).toBe(401);
  }
}

/** What a client can observe of an answer, minus what differs per request. */
async function observable(sent: Sent): Promise<unknown> {
  const headers = [...sent.response.headers].filter(
    ([name]) => !['x-request-id', 'date'].includes(name.toLowerCase()),
  );
  return { status: sent.response.status, body: await sent.json(), headers };
}

describe('account lockout', () => {
  it('engages on the 5th failure: the right password then gets the wrong-password answer, after one hash', async () => {
    const tenant = await makeTenant();
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 4, t0);
    // Four failures do not lock.
    const fifth = await login(tenant, email, WRONG_PASSWORD, {}, at(t0));
    expect(fifth.response.status).toBe(401);
    expect(await fifth.roundTrips()).toBeLessThanOrEqual(2);

    const counts: HashCounts = { hash: 0, verify: 0 };
    const locked = await login(
      tenant,
      email,
      PASSWORD,
      {},
      at(new Date(t0.getTime() + MINUTE), counts),
    );
    const wrong = await login(
      tenant,
      email,
      WRONG_PASSWORD,
      {},
      at(new Date(t0.getTime() + MINUTE)),
    );
    expect(counts).toEqual({ hash: 0, verify: 1 });
    expect(await observable(locked)).toEqual(await observable(wrong));
    expect(await locked.json()).toMatchObject({ error: 'invalid_credentials' });
    expect(await locked.roundTrips()).toBeLessThanOrEqual(2);
  });

  it('does not lock on four failures, and a success resets the count', async () => {
    const tenant = await makeTenant();
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 4, t0);
    expect((await login(tenant, email, PASSWORD, {}, at(t0))).response.status).toBe(200);
    await fail(tenant, email, 4, t0);
    // 8 failures in the window, but never 5 since the last success.
    expect((await login(tenant, email, PASSWORD, {}, at(t0))).response.status).toBe(200);
  });

  it('releases when the injected clock reaches the end of the 15 minutes, not a second before', async () => {
    const tenant = await makeTenant();
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 5, t0);
    const before = await login(
      tenant,
      email,
      PASSWORD,
      {},
      at(new Date(t0.getTime() + 15 * MINUTE - 1000)),
    );
    expect(before.response.status).toBe(401);
    const after = await login(
      tenant,
      email,
      PASSWORD,
      {},
      at(new Date(t0.getTime() + 15 * MINUTE)),
    );
    expect(after.response.status).toBe(200);
  });

  it('counts failures within the window only', async () => {
    const tenant = await makeTenant();
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 4, t0);
    // The 5th comes after the 15-minute window of the first four: a new count starts.
    await fail(tenant, email, 1, new Date(t0.getTime() + 15 * MINUTE + 1000));
    expect(
      (await login(tenant, email, PASSWORD, {}, at(new Date(t0.getTime() + 16 * MINUTE)))).response
        .status,
    ).toBe(200);
  });

  it('failures while locked neither extend the lock nor count towards the next', async () => {
    const tenant = await makeTenant();
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 5, t0);
    await fail(tenant, email, 3, new Date(t0.getTime() + 10 * MINUTE));
    expect(
      (await login(tenant, email, PASSWORD, {}, at(new Date(t0.getTime() + 15 * MINUTE)))).response
        .status,
    ).toBe(200);
  });

  it('follows the tenant settings: 3 failures lock for 1 minute', async () => {
    const tenant = await makeTenant({
      settings: { lockout: { maxFailures: 3, windowSeconds: 300, durationSeconds: 60 } },
    });
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 3, t0);
    expect(
      (await login(tenant, email, PASSWORD, {}, at(new Date(t0.getTime() + 59_000)))).response
        .status,
    ).toBe(401);
    expect(
      (await login(tenant, email, PASSWORD, {}, at(new Date(t0.getTime() + MINUTE)))).response
        .status,
    ).toBe(200);
  });

  it('is off when the tenant sets 0', async () => {
    const tenant = await makeTenant({
      settings: { lockout: { maxFailures: 0, windowSeconds: 900, durationSeconds: 900 } },
    });
    const { email } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 7, t0);
    expect((await login(tenant, email, PASSWORD, {}, at(t0))).response.status).toBe(200);
  });

  it('unlockAccount (for the admin API) lifts a lock at once and says whether there was one', async () => {
    // 12 attempts on one account: past the per-account rate limit, raised here.
    const tenant = await makeTenant({
      settings: { rateLimits: { 'login.account': { limit: 100 } } },
    });
    const { email, userId } = await newAccount(tenant);
    const t0 = new Date();
    await fail(tenant, email, 5, t0);
    const deps = createDeps({
      env: testEnv,
      config: testConfig(),
      log: createLogger('error'),
      waitUntil: () => undefined,
    });
    const locked = { ...deps, clock: fixedClock(t0) };
    const OPERATOR = { type: 'operator' as const, id: 'test-operator' };
    expect(await unlockAccount(locked, tenant.id, userId, OPERATOR)).toEqual({ wasLocked: true });
    expect((await login(tenant, email, PASSWORD, {}, at(t0))).response.status).toBe(200);
    expect(await unlockAccount(locked, tenant.id, userId, OPERATOR)).toEqual({ wasLocked: false });
    // Another tenant's id does not reach the account.
    await fail(tenant, email, 5, t0);
    const other = await makeTenant();
    expect(await unlockAccount(locked, other.id, userId, OPERATOR)).toBeNull();
    expect((await login(tenant, email, PASSWORD, {}, at(t0))).response.status).toBe(401);
  });
});
