// Issue 11, item 3: security-relevant tenant settings take effect when the README's table "When
// settings take effect" says. Most are read by the endpoint's own first statement (the next
// request); the bearer check keeps the tenant with its public keys for 5 minutes per isolate, so
// there the bound is crossed with the injected clock instead of sleeping.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import { ADMIN, makeOperator, type TestOperator } from '../admin/fixtures.ts';
import { CookieJar, makeTenant, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';

const PASSWORD = 'correct horse battery';
/** The bearer check's cache of a tenant's keys and settings (src/features/tokens/service.ts). */
const KEY_CACHE_MS = 5 * 60 * 1000;

class ManualClock implements Clock {
  at: Date;
  constructor(at: Date) {
    this.at = at;
  }
  now(): Date {
    return this.at;
  }
}

const withClock = (clock: Clock): SendOptions => ({ app: { overrideDeps: () => ({ clock }) } });

async function patchTenant(
  operator: TestOperator,
  tenant: TestTenant,
  body: Record<string, unknown>,
): Promise<void> {
  const sent = await send(
    `${ADMIN}/tenants/${tenant.slug}`,
    jsonRequest('PATCH', body, operator.jar.header()),
  );
  expect(sent.response.status).toBe(200);
}

async function signedUp(tenant: TestTenant): Promise<CookieJar> {
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email: uniqueEmail(), password: PASSWORD }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return jar;
}

async function accessToken(tenant: TestTenant, jar: CookieJar, options: SendOptions = {}) {
  const sent = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
    options,
  );
  expect(sent.response.status).toBe(200);
  return (await sent.json<{ access_token: string }>()).access_token;
}

function bearerCheck(
  tenant: TestTenant,
  token: string,
  options: SendOptions,
  headers: Record<string, string> = {},
) {
  return send(
    `${tenant.base}/v1/auth/session`,
    { headers: { Authorization: `Bearer ${token}`, ...headers } },
    options,
  );
}

describe('audience', () => {
  it('refuses a token of the old audience at the bearer check once the 5-minute bound has passed', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const jar = await signedUp(tenant);
    const clock = new ManualClock(new Date());
    const old = await accessToken(tenant, jar, withClock(clock));
    // This isolate now holds the tenant (and its audience) with its keys.
    expect((await bearerCheck(tenant, old, withClock(clock))).response.status).toBe(200);

    await patchTenant(operator, tenant, { settings: { audience: 'https://api.example.com' } });
    // Tokens issued from now on carry the new audience (read by the token request itself).
    const fresh = await accessToken(tenant, jar, withClock(clock));
    expect(decodeJwt(fresh).aud).toBe('https://api.example.com');

    clock.at = new Date(clock.at.getTime() + KEY_CACHE_MS + 1);
    const refused = await bearerCheck(tenant, old, withClock(clock));
    expect(refused.response.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
    expect((await bearerCheck(tenant, fresh, withClock(clock))).response.status).toBe(200);
  });

  it('accepts a token of the new audience at once, re-reading the tenant once', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const jar = await signedUp(tenant);
    const clock = new ManualClock(new Date());
    const old = await accessToken(tenant, jar, withClock(clock));
    expect((await bearerCheck(tenant, old, withClock(clock))).response.status).toBe(200);

    await patchTenant(operator, tenant, { settings: { audience: 'https://api.example.com' } });
    const fresh = await accessToken(tenant, jar, withClock(clock));
    clock.at = new Date(clock.at.getTime() + 1001); // past the once-a-second re-read guard
    const accepted = await bearerCheck(tenant, fresh, withClock(clock));
    expect(accepted.response.status).toBe(200);
    expect(await accepted.roundTrips()).toBe(1);
    // The re-read also refreshed the cached audience: the old token is refused from now on.
    expect((await bearerCheck(tenant, old, withClock(clock))).response.status).toBe(401);
    // And the hot path is back to no round trip.
    const again = await bearerCheck(tenant, fresh, withClock(clock));
    expect(again.response.status).toBe(200);
    expect(await again.roundTrips()).toBe(0);
  });
});

describe('signing algorithm', () => {
  it('signs the next token with the new algorithm, which the bearer check accepts at once', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const jar = await signedUp(tenant);
    const clock = new ManualClock(new Date());
    const before = await accessToken(tenant, jar, withClock(clock));
    expect(decodeProtectedHeader(before).alg).toBe('ES256');
    expect((await bearerCheck(tenant, before, withClock(clock))).response.status).toBe(200);

    await patchTenant(operator, tenant, { settings: { signing_algorithm: 'RS256' } });
    const after = await accessToken(tenant, jar, withClock(clock));
    expect(decodeProtectedHeader(after).alg).toBe('RS256');
    clock.at = new Date(clock.at.getTime() + 1001);
    expect((await bearerCheck(tenant, after, withClock(clock))).response.status).toBe(200);
    // The ES256 key stays published: its tokens verify until it is retired.
    expect((await bearerCheck(tenant, before, withClock(clock))).response.status).toBe(200);
  });
});

describe('CORS origins', () => {
  it('apply to the next preflight and write; the bearer check’s headers follow within 5 minutes', async () => {
    const spa = 'https://spa.example.com';
    const tenant = await makeTenant({ corsOrigins: [spa] });
    const operator = await makeOperator();
    const jar = await signedUp(tenant);
    const clock = new ManualClock(new Date());
    const token = await accessToken(tenant, jar, withClock(clock));
    const fromSPA = { Origin: spa };
    const allowed = await bearerCheck(tenant, token, withClock(clock), fromSPA);
    expect(allowed.response.headers.get('Access-Control-Allow-Origin')).toBe(spa);

    await patchTenant(operator, tenant, { cors_origins: [] });
    const preflight = await send(`${tenant.base}/v1/auth/logout`, {
      method: 'OPTIONS',
      headers: { ...fromSPA, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.response.status).toBe(403);
    expect(await preflight.json()).toMatchObject({ error: 'origin_not_allowed' });
    const write = await send(
      `${tenant.base}/v1/auth/logout`,
      jsonRequest('POST', {}, { ...jar.header(), ...fromSPA }),
    );
    expect(write.response.status).toBe(403);

    clock.at = new Date(clock.at.getTime() + KEY_CACHE_MS + 1);
    const later = await bearerCheck(tenant, token, withClock(clock), fromSPA);
    expect(later.response.status).toBe(200);
    expect(later.response.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('lockout and registration', () => {
  it('lockout applies to the next login', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const email = uniqueEmail();
    const registered = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: PASSWORD }),
    );
    expect(registered.response.status).toBe(201);

    await patchTenant(operator, tenant, { settings: { lockout: { max_failures: 2 } } });
    const login = (password: string) =>
      send(`${tenant.base}/v1/auth/login`, jsonRequest('POST', { email, password }));
    expect((await login('wrong horse battery')).response.status).toBe(401);
    expect((await login('wrong horse battery')).response.status).toBe(401);
    // Locked after two failures (the default would allow five): the right password fails too.
    expect((await login(PASSWORD)).response.status).toBe(401);
  });

  it('registration applies to the next registration', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    await patchTenant(operator, tenant, { settings: { registration_enabled: false } });
    const closed = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: PASSWORD }),
    );
    expect(closed.response.status).toBe(403);
    expect(await closed.json()).toMatchObject({ error: 'registration_closed' });
    await patchTenant(operator, tenant, { settings: { registration_enabled: true } });
    const open = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: PASSWORD }),
    );
    expect(open.response.status).toBe(201);
  });
});

describe('other settings', () => {
  it('token lifetime and password policy apply to the next token and the next registration', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const jar = await signedUp(tenant);
    await patchTenant(operator, tenant, {
      settings: { access_token_ttl_seconds: 60, password_policy: { min_length: 30 } },
    });
    const claims = decodeJwt(await accessToken(tenant, jar));
    expect(claims.exp! - claims.iat!).toBe(60);
    const short = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: PASSWORD }),
    );
    expect(short.response.status).toBe(400);
    expect(await short.json()).toMatchObject({ error: 'password_too_short' });
  });
});
