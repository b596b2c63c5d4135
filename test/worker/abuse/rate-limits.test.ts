// Issue 5, item 1: rate limits in Upstash Redis (here the local REST endpoint), charged before
// the hash and the writes they protect; 429 with Retry-After and the RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers-10); Redis down or silent → 503 within the 1 s bound.
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeps, type Deps } from '../../../src/deps.ts';
import { createLogger } from '../../../src/log.ts';
import { enforce } from '../../../src/features/ratelimit/enforce.ts';
import {
  createUpstashRateLimiter,
  type RateLimiter,
} from '../../../src/features/ratelimit/limiter.ts';
import { CookieJar, makeTenant, testConfig, testDB, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, send, testEnv } from '../harness.ts';
import {
  PASSWORD,
  WRONG_PASSWORD,
  awayFromWindowEdge,
  countingPasswords,
  login,
  register,
  uniqueIP,
  type HashCounts,
} from './helpers.ts';

const RATE_LIMIT_FIELD = /^"login\.(ip|account)";r=\d+;t=\d+, "login\.(ip|account)";r=\d+;t=\d+$/;

async function userCount(tenantId: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from users where tenant_id = ${tenantId}::uuid`,
  );
  return Number(result.rows[0]?.n);
}

describe('login rate limits', () => {
  it('lets at most 5 of 50 parallel wrong-password attempts from one IP reach password verification', async () => {
    const tenant = await makeTenant();
    const email = uniqueEmail();
    expect((await register(tenant, email)).response.status).toBe(201);
    const ip = uniqueIP();
    const counts: HashCounts = { hash: 0, verify: 0 };
    await awayFromWindowEdge(60);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        login(
          tenant,
          email,
          WRONG_PASSWORD,
          { 'CF-Connecting-IP': ip },
          { app: { overrideDeps: countingPasswords(counts) } },
        ),
      ),
    );
    const statuses = results.map((sent) => sent.response.status);
    expect(counts.verify).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 401)).toHaveLength(counts.verify);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50 - counts.verify);
    for (const sent of results.filter((r) => r.response.status === 429)) {
      expect(await sent.json()).toMatchObject({ error: 'rate_limited' });
      expect(sent.response.headers.get('RateLimit-Policy')).toBe(
        '"login.ip";q=5;w=60, "login.account";q=10;w=3600',
      );
      const field = sent.response.headers.get('RateLimit') ?? '';
      expect(field).toMatch(RATE_LIMIT_FIELD);
      expect(field).toContain('"login.ip";r=0;');
      // Retry-After comes from a counter this request found exhausted.
      const exhausted = [...field.matchAll(/r=0;t=(\d+)/g)].map((m) => Number(m[1]));
      expect(exhausted).toContain(Number(sent.response.headers.get('Retry-After')));
      expect(Number(sent.response.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
      expect(Number(sent.response.headers.get('Retry-After'))).toBeLessThanOrEqual(3600);
    }
  });

  it('limits one account to 10 attempts an hour across many addresses, for unknown emails too', async () => {
    const tenant = await makeTenant({
      settings: { lockout: { maxFailures: 0, windowSeconds: 900, durationSeconds: 900 } },
    });
    const email = uniqueEmail(); // never registered: the limit must not depend on the account existing
    const counts: HashCounts = { hash: 0, verify: 0 };
    await awayFromWindowEdge(3600);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const sent = await login(
        tenant,
        email,
        WRONG_PASSWORD,
        { 'CF-Connecting-IP': uniqueIP() },
        { app: { overrideDeps: countingPasswords(counts) } },
      );
      statuses.push(sent.response.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
    expect(counts.verify).toBe(10);
  });

  it('applies a tenant override of a policy', async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'login.ip': { limit: 2, windowSeconds: 600 } } },
    });
    const ip = uniqueIP();
    await awayFromWindowEdge(600);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push(
        (await login(tenant, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': ip })).response
          .status,
      );
    expect(statuses).toEqual([401, 401, 429]);
    const last = await login(tenant, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': ip });
    expect(last.response.headers.get('RateLimit-Policy')).toContain('"login.ip";q=2;w=600');
  });

  it('counts each tenant separately for the same address', async () => {
    const first = await makeTenant({ settings: { rateLimits: { 'login.ip': { limit: 1 } } } });
    const second = await makeTenant({ settings: { rateLimits: { 'login.ip': { limit: 1 } } } });
    const ip = uniqueIP();
    await awayFromWindowEdge(60);
    expect(
      (await login(first, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': ip })).response
        .status,
    ).toBe(401);
    expect(
      (await login(first, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': ip })).response
        .status,
    ).toBe(429);
    expect(
      (await login(second, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': ip })).response
        .status,
    ).toBe(401);
  });
});

describe('refusals in the audit log', () => {
  async function refusalEvents(tenantId: string) {
    const result = await testDB().execute(
      sql`select actor_type, ip, details from audit_events
          where tenant_id = ${tenantId}::uuid and type = 'security.ratelimit.exceeded'`,
    );
    return result.rows as Array<{ actor_type: string; ip: string | null; details: unknown }>;
  }

  it('records security.ratelimit.exceeded once per counter and window, not once per 429', async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'login.ip': { limit: 2, windowSeconds: 600 } } },
    });
    const ip = uniqueIP();
    await awayFromWindowEdge(600);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        login(tenant, uniqueEmail(), WRONG_PASSWORD, {
          'CF-Connecting-IP': ip,
          'User-Agent': 'flood/1.0',
        }),
      ),
    );
    expect(results.filter((sent) => sent.response.status === 429)).toHaveLength(18);
    const events = await refusalEvents(tenant.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_type: 'anonymous', ip });
    const details = (
      typeof events[0]!.details === 'string' ? JSON.parse(events[0]!.details) : events[0]!.details
    ) as { policies: Array<Record<string, unknown>>; recorded: string };
    expect(details.recorded).toBe('first_in_window');
    expect(details.policies).toEqual([
      expect.objectContaining({ name: 'login.ip', limit: 2, window_seconds: 600 }),
    ]);
    // Another address's counter is another window: its first refusal is recorded too.
    const other = uniqueIP();
    for (let i = 0; i < 4; i += 1)
      await login(tenant, uniqueEmail(), WRONG_PASSWORD, { 'CF-Connecting-IP': other });
    expect(await refusalEvents(tenant.id)).toHaveLength(2);
  });

  it('answers 429 even when the refusal cannot be recorded', async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'login.ip': { limit: 1, windowSeconds: 600 } } },
    });
    const ip = uniqueIP();
    await awayFromWindowEdge(600);
    const brokenClaims = (deps: Deps): Partial<Deps> => ({
      rateLimiter: {
        hit: (requests) => deps.rateLimiter.hit(requests),
        claim: () => Promise.reject(new Error('claim store down')),
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i += 1) {
      const sent = await login(
        tenant,
        uniqueEmail(),
        WRONG_PASSWORD,
        { 'CF-Connecting-IP': ip },
        { app: { overrideDeps: brokenClaims } },
      );
      statuses.push(sent.response.status);
      if (sent.response.status === 429)
        expect(sent.logs.join('\n')).toContain('rate-limit refusal not audited');
    }
    expect(statuses).toEqual([401, 429]);
    expect(await refusalEvents(tenant.id)).toHaveLength(0);
  });

  it('keys the client address on X-Forwarded-For only behind TRUSTED_PROXY_HOPS proxies', async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'login.ip': { limit: 1, windowSeconds: 600 } } },
    });
    const proxy = uniqueIP();
    await awayFromWindowEdge(600);
    const attempt = (client: string, hops: string) =>
      login(
        tenant,
        uniqueEmail(),
        WRONG_PASSWORD,
        // The client may prepend anything; our proxy appended the client's address, and
        // Cloudflare the proxy's (which is also CF-Connecting-IP).
        { 'CF-Connecting-IP': proxy, 'X-Forwarded-For': `198.51.100.9, ${client}, ${proxy}` },
        { env: { TRUSTED_PROXY_HOPS: hops } },
      );
    // Without trusted hops every client behind the proxy shares the proxy's counter.
    expect((await attempt(uniqueIP(), '0')).response.status).toBe(401);
    expect((await attempt(uniqueIP(), '0')).response.status).toBe(429);
    // With one trusted hop each client has its own, whatever it wrote further left.
    const first = uniqueIP();
    expect((await attempt(first, '1')).response.status).toBe(401);
    expect((await attempt(uniqueIP(), '1')).response.status).toBe(401);
    expect((await attempt(first, '1')).response.status).toBe(429);
  });
});

describe('registration rate limit', () => {
  it('allows 3 sign-ups an hour per IP; the 4th is refused before hashing and creates nothing', async () => {
    const tenant = await makeTenant();
    const ip = uniqueIP();
    const counts: HashCounts = { hash: 0, verify: 0 };
    await awayFromWindowEdge(3600);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const sent = await register(
        tenant,
        uniqueEmail(),
        { 'CF-Connecting-IP': ip },
        { app: { overrideDeps: countingPasswords(counts) } },
      );
      statuses.push(sent.response.status);
      if (sent.response.status === 429) {
        expect(sent.response.headers.get('RateLimit-Policy')).toBe('"register.ip";q=3;w=3600');
        expect(Number(sent.response.headers.get('Retry-After'))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(counts.hash).toBe(3);
    expect(await userCount(tenant.id)).toBe(3);
    // Another address is not affected.
    expect(
      (await register(tenant, uniqueEmail(), { 'CF-Connecting-IP': uniqueIP() })).response.status,
    ).toBe(201);
  });
});

describe('token refresh rate limits', () => {
  async function refreshTokenCount(sessionId: string): Promise<number> {
    const result = await testDB().execute(
      sql`select count(*)::int as n from refresh_tokens where session_id = ${sessionId}::uuid`,
    );
    return Number(result.rows[0]?.n);
  }

  it('limits the session grant per session, refusing before the refresh token is written', async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'token.refresh': { limit: 3, windowSeconds: 600 } } },
    });
    const signedUp = await register(tenant, uniqueEmail());
    const sessionId = (await signedUp.json<{ session: { id: string } }>()).session.id;
    const jar = new CookieJar();
    jar.store(signedUp.response);
    await awayFromWindowEdge(600);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const sent = await send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest('POST', { grant_type: 'session' }, jar.header()),
      );
      statuses.push(sent.response.status);
      if (sent.response.status === 429) {
        expect(sent.response.headers.get('RateLimit-Policy')).toBe('"token.refresh";q=3;w=600');
        // The session lookup; and, this being the window's first refusal, its audit event.
        expect(await sent.roundTrips()).toBe(2);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await refreshTokenCount(sessionId)).toBe(3);
    // Another session of the same user has its own budget.
    const other = await login(
      tenant,
      (await signedUp.json<{ user: { email: string } }>()).user.email,
      PASSWORD,
    );
    const otherJar = new CookieJar();
    otherJar.store(other.response);
    const sent = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, otherJar.header()),
    );
    expect(sent.response.status).toBe(200);
  });

  it("limits the refresh_token grant per session with the tenant's limit, rotating nothing when refused", async () => {
    const tenant = await makeTenant({
      settings: { rateLimits: { 'token.refresh': { limit: 3, windowSeconds: 600 } } },
    });
    const signedUp = await register(tenant, uniqueEmail());
    const email = (await signedUp.json<{ user: { email: string } }>()).user.email;
    const sessionId = (await signedUp.json<{ session: { id: string } }>()).session.id;
    const jar = new CookieJar();
    jar.store(signedUp.response);
    await awayFromWindowEdge(600);
    const refreshWith = (token: string, ip = uniqueIP()) =>
      send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest(
          'POST',
          { grant_type: 'refresh_token', refresh_token: token },
          { 'CF-Connecting-IP': ip },
        ),
      );
    // The session grant and the refresh grant share the session's budget: 1 + 2 = 3.
    const exchanged = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, jar.header()),
    );
    let token = (await exchanged.json<{ refresh_token: string }>()).refresh_token;
    for (let i = 0; i < 2; i += 1) {
      const sent = await refreshWith(token);
      expect(sent.response.status).toBe(200);
      token = (await sent.json<{ refresh_token: string }>()).refresh_token;
    }
    // A new address does not buy a new budget: the counter is the session's.
    const refused = await refreshWith(token);
    expect(refused.response.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.response.headers.get('RateLimit-Policy')).toBe('"token.refresh";q=3;w=600');
    expect(Number(refused.response.headers.get('Retry-After'))).toBeGreaterThan(0);
    // The read that names the session, and the window's first refusal recorded; no rotation.
    expect(await refused.roundTrips()).toBe(2);
    expect(await refreshTokenCount(sessionId)).toBe(3);

    // The refused token was not consumed: another session's traffic is not charged to it, and
    // once this session's window allows again the same token rotates (here: a fresh session's
    // token rotates while this one stays refused).
    const other = await login(tenant, email, PASSWORD);
    const otherJar = new CookieJar();
    otherJar.store(other.response);
    const otherTokens = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, otherJar.header()),
    );
    const otherToken = (await otherTokens.json<{ refresh_token: string }>()).refresh_token;
    expect((await refreshWith(otherToken)).response.status).toBe(200);
    const again = await refreshWith(token);
    expect(again.response.status).toBe(429);
    expect(await again.roundTrips()).toBe(1); // refusals after the first are not written
    const unrotated = await testDB().execute(
      sql`select count(*)::int as n from refresh_tokens
          where session_id = ${sessionId}::uuid and rotated_at is null and revoked_at is null`,
    );
    expect(Number(unrotated.rows[0]?.n)).toBe(1);
  });
});

describe('when Redis cannot be reached', () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  /** A Redis REST endpoint that accepts the request and never answers (until aborted). */
  function silentRedis(): RateLimiter {
    const previous = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith('http://redis-silent.test')) return previous(input, init);
      return new Promise((_, reject) => {
        const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
        signal?.addEventListener('abort', () => reject(signal.reason));
      });
    };
    return createUpstashRateLimiter({ url: 'http://redis-silent.test', token: 'unused' });
  }

  /** Port 1 on loopback: nothing listens there, the connection is refused at once. */
  const refusedRedis = (): RateLimiter =>
    createUpstashRateLimiter({ url: 'http://127.0.0.1:1', token: 'unused' });

  for (const [name, limiter, atLeastMs] of [
    ['refuses connections', refusedRedis, 0],
    ['never answers', silentRedis, 1000],
  ] as const) {
    it(`fails login closed with 503 within the bound, hashing nothing, when Redis ${name}`, async () => {
      const tenant = await makeTenant();
      const email = uniqueEmail();
      await register(tenant, email);
      const counts: HashCounts = { hash: 0, verify: 0 };
      const rateLimiter = limiter();
      const started = Date.now();
      const sent = await login(
        tenant,
        email,
        PASSWORD,
        { 'CF-Connecting-IP': uniqueIP() },
        {
          app: { overrideDeps: (deps) => ({ ...countingPasswords(counts)(deps), rateLimiter }) },
        },
      );
      const elapsed = Date.now() - started;
      expect(sent.response.status).toBe(503);
      expect(await sent.json()).toMatchObject({ error: 'rate_limiter_unavailable' });
      expect(sent.response.headers.get('Retry-After')).toBe('5');
      expect(counts).toEqual({ hash: 0, verify: 0 });
      expect(elapsed).toBeGreaterThanOrEqual(atLeastMs);
      expect(elapsed).toBeLessThanOrEqual(1500);
      const logged = sent.logs.map(
        (line) => JSON.parse(line) as { message: string; outcome?: string },
      );
      expect(logged).toContainEqual(
        expect.objectContaining({ message: 'rate limiter unavailable', outcome: 'refused' }),
      );
      expect(sent.logs.join('\n')).not.toContain('unused'); // the token is never logged
    });
  }

  it('fails registration closed too, creating nothing', async () => {
    const tenant = await makeTenant();
    const rateLimiter = refusedRedis();
    const sent = await register(
      tenant,
      uniqueEmail(),
      { 'CF-Connecting-IP': uniqueIP() },
      { app: { overrideDeps: () => ({ rateLimiter }) } },
    );
    expect(sent.response.status).toBe(503);
    expect(await userCount(tenant.id)).toBe(0);
  });

  it('lets a fail-open policy (admin.write) through, logged', async () => {
    const config = testConfig();
    const lines: string[] = [];
    const deps: Deps = {
      ...createDeps({
        env: testEnv,
        config,
        log: createLogger('info'),
        waitUntil: () => undefined,
      }),
      rateLimiter: refusedRedis(),
      log: {
        ...createLogger('info'),
        error: (message, fields) => lines.push(JSON.stringify({ message, ...fields })),
      },
    };
    await expect(enforce(deps, 'admin.write', 'key-1')).resolves.toEqual({ headers: {} });
    expect(lines.join('\n')).toContain('"outcome":"allowed"');
    await expect(enforce(deps, 'login.account', 'someone@example.com')).rejects.toMatchObject({
      code: 'rate_limiter_unavailable',
    });
  });
});

describe('enforce (for other features)', () => {
  it('counts one subject of a policy in the shared store and refuses past the limit', async () => {
    const config = testConfig();
    const deps = createDeps({
      env: testEnv,
      config,
      log: createLogger('error'),
      waitUntil: () => undefined,
    });
    const key = `key-${crypto.randomUUID()}`;
    await awayFromWindowEdge(60);
    for (let i = 0; i < 60; i += 1) await enforce(deps, 'admin.write', key);
    await expect(enforce(deps, 'admin.write', key)).rejects.toMatchObject({
      code: 'rate_limited',
      status: 429,
    });
    await expect(enforce(deps, 'admin.write', `${key}-other`)).resolves.toMatchObject({
      headers: { 'RateLimit-Policy': '"admin.write";q=60;w=60' },
    });
  });

  it('records a refusal in the chain of a tenant named only by reference (before any database read)', async () => {
    const tenant = await makeTenant();
    const pending: Promise<unknown>[] = [];
    const deps = createDeps({
      env: testEnv,
      config: testConfig(),
      log: createLogger('error'),
      waitUntil: (promise) => void pending.push(promise),
    });
    const ip = uniqueIP();
    const ref = { by: 'slug' as const, slug: tenant.slug };
    await awayFromWindowEdge(60);
    for (let i = 0; i < 5; i += 1) await enforce(deps, 'login.ip', ip, { tenant: ref });
    await expect(
      enforce(deps, 'login.ip', ip, { tenant: ref, client: { ip, userAgent: null } }),
    ).rejects.toMatchObject({ code: 'rate_limited' });
    await Promise.all(pending);
    const events = await testDB().execute(
      sql`select ip from audit_events where tenant_id = ${tenant.id}::uuid and type = 'security.ratelimit.exceeded'`,
    );
    expect(events.rows).toEqual([{ ip }]);
  });

  it('refuses an unknown policy name loudly', async () => {
    const deps = createDeps({
      env: testEnv,
      config: testConfig(),
      log: createLogger('error'),
      waitUntil: () => undefined,
    });
    await expect(enforce(deps, 'no.such_policy', 'x')).rejects.toThrow(/unknown rate-limit policy/);
  });
});
