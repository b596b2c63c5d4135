import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../../src/lib/encoding.ts';
import { KEY_PURPOSE, deriveHMACKey } from '../../../src/lib/keys.ts';
import {
  CookieJar,
  makeTenant,
  testConfig,
  testDB,
  uniqueEmail,
  type TestTenant,
} from '../fixtures.ts';
import { jsonRequest, send, type Sent } from '../harness.ts';

const APP = 'https://app.example.com';
let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant({ corsOrigins: [APP], hostnames: [`login-${Date.now()}.example.org`] });
});

describe('CORS for SPAs with credentials', () => {
  it('answers a preflight from an allowed origin, cacheably, naming the exact origin', async () => {
    const sent = await send(`${tenant.base}/v1/auth/login`, {
      method: 'OPTIONS',
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(sent.response.status).toBe(204);
    const h = sent.response.headers;
    expect(h.get('Access-Control-Allow-Origin')).toBe(APP);
    expect(h.get('Access-Control-Allow-Credentials')).toBe('true');
    expect(h.get('Access-Control-Allow-Methods')).toContain('POST');
    expect(h.get('Access-Control-Allow-Headers')).toContain('Content-Type');
    expect(Number(h.get('Access-Control-Max-Age'))).toBeGreaterThan(0);
    expect(h.get('Vary')).toContain('Origin');
  });

  it('refuses a preflight from any other origin and never answers *', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
      const sent = await send(`${tenant.base}/v1/auth/login`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
      expect(sent.response.status).toBe(403);
      expect(sent.response.headers.get('Access-Control-Allow-Origin')).toBeNull();
    }
  });

  it('adds the headers to real responses for allowed origins only, errors included', async () => {
    const allowed = await send(`${tenant.base}/v1/auth/session`, { headers: { Origin: APP } });
    expect(allowed.response.status).toBe(401);
    expect(allowed.response.headers.get('Access-Control-Allow-Origin')).toBe(APP);
    expect(allowed.response.headers.get('Vary')).toContain('Origin');
    const foreign = await send(`${tenant.base}/v1/auth/session`, {
      headers: { Origin: 'https://evil.example' },
    });
    expect(foreign.response.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('login answers', () => {
  it('are identical for an unknown email, a wrong password and a disabled account', async () => {
    const email = uniqueEmail();
    const disabled = uniqueEmail();
    for (const address of [email, disabled]) {
      await send(
        `${tenant.base}/v1/auth/register`,
        jsonRequest('POST', { email: address, password: 'correct horse battery' }),
      );
    }
    await testDB().execute(
      sql`update users set disabled_at = now() where tenant_id = ${tenant.id}::uuid and email_normalized = ${disabled}`,
    );
    const attempts: Sent[] = [
      await send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest('POST', { email: uniqueEmail(), password: 'correct horse battery' }),
      ),
      await send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest('POST', { email, password: 'wrong horse battery' }),
      ),
      await send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest('POST', { email: disabled, password: 'correct horse battery' }),
      ),
    ];
    const bodies = await Promise.all(attempts.map((a) => a.response.text()));
    expect(attempts.map((a) => a.response.status)).toEqual([401, 401, 401]);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ error: 'invalid_credentials' });
    for (const attempt of attempts) expect(attempt.response.headers.get('Set-Cookie')).toBeNull();
  });

  it('upgrade a hash made with older parameters on the next successful login', async () => {
    const email = uniqueEmail();
    const password = 'an older kind of hash';
    // The same password hashed the old way: 1,000 iterations and no pepper.
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const base = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(password),
      'PBKDF2',
      false,
      ['deriveBits'],
    );
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 1000 },
        base,
        256,
      ),
    );
    const b64 = (bytes: Uint8Array) =>
      btoa(String.fromCharCode(...bytes))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
    const oldHash = `pbkdf2-sha256$i=1000$p=none$${b64(salt)}$${b64(bits)}`;
    await testDB().execute(
      sql`insert into users (tenant_id, email, email_normalized, password_hash) values (${tenant.id}::uuid, ${email}, ${email}, ${oldHash})`,
    );

    const login = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password }),
    );
    expect(login.response.status).toBe(200);
    expect(await login.roundTrips()).toBeLessThanOrEqual(2);
    const stored = await testDB().execute(
      sql`select password_hash from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${email}`,
    );
    expect(String(stored.rows[0]?.password_hash)).toMatch(/^pbkdf2-sha256\$i=100000\$p=e1\$/);
    const again = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password }),
    );
    expect(again.response.status).toBe(200);
  });

  it('still verify a legacy HMAC-peppered (k1) hash, and reseal it as e1 at sign-in', async () => {
    const email = uniqueEmail();
    const password = 'a k1 kind of hash';
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const pepper = await deriveHMACKey(testConfig().secretKey, KEY_PURPOSE.passwordPepper);
    const peppered = new Uint8Array(
      await crypto.subtle.sign('HMAC', pepper, new TextEncoder().encode(password)),
    );
    const base = await crypto.subtle.importKey('raw', peppered, 'PBKDF2', false, ['deriveBits']);
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 100_000 },
        base,
        256,
      ),
    );
    const legacy = `pbkdf2-sha256$i=100000$p=k1$${encodeBase64url(salt)}$${encodeBase64url(bits)}`;
    await testDB().execute(
      sql`insert into users (tenant_id, email, email_normalized, password_hash) values (${tenant.id}::uuid, ${email}, ${email}, ${legacy})`,
    );
    const wrong = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'not the k1 password' }),
    );
    expect(wrong.response.status).toBe(401);
    const login = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password }),
    );
    expect(login.response.status).toBe(200);
    const stored = await testDB().execute(
      sql`select password_hash from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${email}`,
    );
    const resealed = String(stored.rows[0]?.password_hash);
    expect(resealed).toMatch(/^pbkdf2-sha256\$i=100000\$p=e1\$[A-Za-z0-9_-]+\$v2\./);
    expect(resealed).not.toContain(encodeBase64url(bits));
    expect(
      (await send(`${tenant.base}/v1/auth/login`, jsonRequest('POST', { email, password })))
        .response.status,
    ).toBe(200);
  });
});

describe('organizations', () => {
  it('lists memberships and switches the active one, which access tokens then carry', async () => {
    const email = uniqueEmail();
    const reg = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery', organization_name: 'First' }),
    );
    const jar = new CookieJar();
    jar.store(reg.response);
    const userId = (await reg.json<{ user: { id: string } }>()).user.id;
    const second = crypto.randomUUID();
    await testDB().execute(
      sql`insert into organizations (id, tenant_id, name) values (${second}::uuid, ${tenant.id}::uuid, 'Second')`,
    );
    await testDB().execute(
      sql`insert into memberships (tenant_id, organization_id, user_id, role) values (${tenant.id}::uuid, ${second}::uuid, ${userId}::uuid, 'member')`,
    );

    const list = await send(`${tenant.base}/v1/auth/organizations`, { headers: jar.header() });
    const body = await list.json<{ organizations: { id: string; name: string; role: string }[] }>();
    expect(body.organizations.map((o) => [o.name, o.role])).toEqual([
      ['First', 'owner'],
      ['Second', 'member'],
    ]);

    const stranger = crypto.randomUUID();
    const refused = await send(
      `${tenant.base}/v1/auth/organizations/switch`,
      jsonRequest('POST', { organization_id: stranger }, jar.header()),
    );
    expect(refused.response.status).toBe(404);

    const switched = await send(
      `${tenant.base}/v1/auth/organizations/switch`,
      jsonRequest('POST', { organization_id: second }, jar.header()),
    );
    expect(await switched.json()).toEqual({ active_organization_id: second, role: 'member' });
    const tokens = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, jar.header()),
    );
    const claims = decodeJwt((await tokens.json<{ access_token: string }>()).access_token);
    expect(claims).toMatchObject({ org: second, role: 'member' });
  });
});

describe('finding the tenant', () => {
  it('by custom hostname, by DEFAULT_TENANT on the main host, and under BASE_PATH', async () => {
    const email = uniqueEmail();
    const host = await testDB().execute(
      sql`select hostname from tenant_hostnames where tenant_id = ${tenant.id}::uuid`,
    );
    const hostname = String(host.rows[0]?.hostname);
    const reg = await send(
      '/v1/auth/register',
      jsonRequest('POST', { email, password: 'correct horse battery' }),
      { baseURL: `https://${hostname}` },
    );
    expect(reg.response.status).toBe(201);
    expect(reg.response.headers.get('Set-Cookie')).toMatch(/^__Host-gatehouse_session=/);

    const byDefault = await send(
      '/v1/auth/login',
      jsonRequest('POST', { email, password: 'correct horse battery' }),
      { env: { DEFAULT_TENANT: tenant.slug } },
    );
    expect(byDefault.response.status).toBe(200);
    const noDefault = await send(
      '/v1/auth/login',
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    expect(noDefault.response.status).toBe(404);
    expect(await noDefault.json()).toMatchObject({ error: 'unknown_tenant' });

    const mounted = { env: { BASE_PATH: '/auth' } };
    const underBase = await send(
      `/auth/t/${tenant.slug}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
      mounted,
    );
    expect(underBase.response.status).toBe(200);
    expect(underBase.response.headers.get('Set-Cookie')).toMatch(
      /^__Secure-gatehouse_.*Path=\/auth/,
    );
    expect((await send(`/t/${tenant.slug}/v1/auth/session`, {}, mounted)).response.status).toBe(
      404,
    );
    expect((await send('/auth/health', {}, mounted)).response.status).toBe(200);
    const jwks = await send(`/auth/t/${tenant.slug}/.well-known/jwks.json`, {}, mounted);
    expect(jwks.response.status).toBe(200);
  });
});
