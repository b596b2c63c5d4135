// Issue 5, item 1 for the admin plane: admin API writes are limited to 60 a minute per key (or
// operator session), and operator sign-in, recovery and bootstrap draw on a per-address and
// per-account budget before any hash; refusals and failed operator sign-ins are audited in the
// deployment-wide chain.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  OPERATOR_PASSWORD,
  bearer,
  countRows,
  makeKey,
  makeOperator,
  uniqueOperatorEmail,
} from '../admin/fixtures.ts';
import { makeTenant, testDB } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import { awayFromWindowEdge, countingPasswords, uniqueIP, type HashCounts } from './helpers.ts';

/** Events of the deployment-wide chain (no tenant). */
async function globalEvents(type: string, where = sql`true`) {
  const result = await testDB().execute(
    sql`select actor_type, actor_id, target_id, ip, details from audit_events
        where tenant_id is null and type = ${type} and ${where}`,
  );
  return result.rows as Array<Record<string, unknown>>;
}

/** POST /auth/login as an operator from `ip`. */
function operatorLogin(email: string, password: string, ip: string, options: SendOptions = {}) {
  return send(
    `${ADMIN}/auth/login`,
    jsonRequest('POST', { email, password }, { 'CF-Connecting-IP': ip }),
    options,
  );
}

describe('admin API writes', () => {
  it('are limited to 60 a minute per key, refused before the route writes anything', async () => {
    const operator = await makeOperator();
    const { key, id } = await makeKey(operator);
    await awayFromWindowEdge(60, 20_000);
    // Malformed writes still count: the budget is charged before the route reads the body.
    const spent = await Promise.all(
      Array.from({ length: 60 }, () =>
        send(`${ADMIN}/tenants`, jsonRequest('POST', { slug: 42 }, bearer(key))),
      ),
    );
    expect(spent.map((sent) => sent.response.status)).toEqual(Array<number>(60).fill(400));
    const slug = `limited-${crypto.randomUUID().slice(0, 8)}`;
    const refused = await send(
      `${ADMIN}/tenants`,
      jsonRequest('POST', { slug, name: 'Refused' }, bearer(key)),
    );
    expect(refused.response.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.response.headers.get('RateLimit-Policy')).toBe('"admin.write";q=60;w=60');
    expect(Number(refused.response.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await countRows('tenants', sql`slug = ${slug}`)).toBe(0);
    // Reads are not writes, and another caller has its own budget.
    expect((await send(`${ADMIN}/tenants`, { headers: bearer(key) })).response.status).toBe(200);
    const created = await send(
      `${ADMIN}/tenants`,
      jsonRequest('POST', { slug, name: 'Allowed' }, operator.jar.header()),
    );
    expect(created.response.status).toBe(201);
    // The refusal is on record once, in the deployment's chain, against the key.
    const events = await globalEvents(
      'security.ratelimit.exceeded',
      sql`actor_type = 'api_key' and actor_id = ${id}`,
    );
    expect(events).toHaveLength(1);
  });
});

describe('operator sign-in', () => {
  it('lets at most 10 of 15 parallel attempts from one address reach the hash; the rest get 429', async () => {
    const operator = await makeOperator();
    const ip = uniqueIP();
    const counts: HashCounts = { hash: 0, verify: 0 };
    await awayFromWindowEdge(60);
    const results = await Promise.all(
      Array.from({ length: 15 }, () =>
        operatorLogin(uniqueOperatorEmail(), OPERATOR_PASSWORD, ip, {
          app: { overrideDeps: countingPasswords(counts) },
        }),
      ),
    );
    const statuses = results.map((sent) => sent.response.status);
    expect(counts.verify).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 401)).toHaveLength(counts.verify);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15 - counts.verify);
    // The operator's own sign-in from elsewhere is unaffected.
    const elsewhere = await operatorLogin(operator.email, operator.password, uniqueIP());
    expect(elsewhere.response.status).toBe(200);
  });

  it('limits one operator account to 10 attempts an hour across addresses, and audits each failure', async () => {
    const operator = await makeOperator();
    await awayFromWindowEdge(3600);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const sent = await operatorLogin(operator.email, 'Wrong-Password-1234', uniqueIP());
      statuses.push(sent.response.status);
    }
    // makeOperator's own sign-in used one attempt of the hour.
    expect(statuses).toEqual([...Array<number>(9).fill(401), 429, 429]);
    const failures = await globalEvents(
      'security.operator.login.failed',
      sql`target_id = ${operator.id}`,
    );
    expect(failures).toHaveLength(9);
    expect(failures[0]).toMatchObject({ actor_type: 'anonymous' });
    expect(JSON.stringify(failures[0]!.details)).toContain('wrong_password');
    // Even the right password waits out the hour: the budget is the account's.
    const right = await operatorLogin(operator.email, operator.password, uniqueIP());
    expect(right.response.status).toBe(429);
  });

  it('limits recovery-code guesses from the same budget, before hashing the new password', async () => {
    const operator = await makeOperator();
    const counts: HashCounts = { hash: 0, verify: 0 };
    await awayFromWindowEdge(3600);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const sent = await send(
        `${ADMIN}/recover`,
        jsonRequest(
          'POST',
          {
            email: operator.email,
            recovery_code: 'AAAA-BBBB-CCCC-DDDD',
            new_password: 'Another-Harbor-Quartz-55',
          },
          { 'CF-Connecting-IP': uniqueIP() },
        ),
        { app: { overrideDeps: countingPasswords(counts) } },
      );
      statuses.push(sent.response.status);
    }
    expect(statuses).toEqual([...Array<number>(9).fill(401), 429]);
    expect(counts.hash).toBe(9);
  });
});

describe('per-tenant overrides through the admin API', () => {
  it('sets rate_limits for tenant policies, refuses deployment-wide or unknown names, and applies them', async () => {
    const operator = await makeOperator();
    const tenant = await makeTenant();
    const patch = (rateLimits: unknown) =>
      send(
        `${ADMIN}/tenants/${tenant.slug}`,
        jsonRequest('PATCH', { settings: { rate_limits: rateLimits } }, operator.jar.header()),
      );
    for (const refused of [
      { 'admin.write': { limit: 1000 } },
      { 'operator_auth.ip': { limit: 1000 } },
      { 'login.typo': { limit: 1 } },
      { 'login.ip': {} },
      { 'login.ip': { limit: 0 } },
    ]) {
      const sent = await patch(refused);
      expect(sent.response.status, JSON.stringify(refused)).toBe(400);
    }
    const set = await patch({ 'login.ip': { limit: 1, window_seconds: 600 } });
    expect(set.response.status).toBe(200);
    expect(await set.json<{ tenant: { settings: { rate_limits: unknown } } }>()).toMatchObject({
      tenant: { settings: { rate_limits: { 'login.ip': { limit: 1, window_seconds: 600 } } } },
    });
    const ip = uniqueIP();
    await awayFromWindowEdge(600);
    const attempt = () =>
      send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest(
          'POST',
          { email: `nobody-${crypto.randomUUID()}@example.com`, password: 'wrong password' },
          { 'CF-Connecting-IP': ip },
        ),
      );
    expect((await attempt()).response.status).toBe(401);
    const limited = await attempt();
    expect(limited.response.status).toBe(429);
    expect(limited.response.headers.get('RateLimit-Policy')).toContain('"login.ip";q=1;w=600');
    // `{}` clears the overrides.
    const cleared = await patch({});
    expect(await cleared.json<{ tenant: { settings: { rate_limits: unknown } } }>()).toMatchObject({
      tenant: { settings: { rate_limits: {} } },
    });
  });
});
