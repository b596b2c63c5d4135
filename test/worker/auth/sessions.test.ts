import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant({
    corsOrigins: ['https://app.example.com'],
    settings: { sessionIdleTTLSeconds: 3600, sessionAbsoluteTTLSeconds: 8 * 3600 },
  });
  await send(`${tenant.base}/v1/auth/session`);
});

const PASSWORD = 'correct horse battery';

async function signUp(
  options: SendOptions = {},
  headers: Record<string, string> = {},
): Promise<{ jar: CookieJar; email: string }> {
  const email = uniqueEmail();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }, headers),
    options,
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { jar, email };
}

async function signIn(email: string, headers: Record<string, string> = {}): Promise<CookieJar> {
  const sent = await send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email, password: PASSWORD }, headers),
  );
  expect(sent.response.status).toBe(200);
  const jar = new CookieJar();
  jar.store(sent.response);
  return jar;
}

const sessionOf = (jar: CookieJar, options: SendOptions = {}) =>
  send(`${tenant.base}/v1/auth/session`, { headers: jar.header() }, options);

function at(time: Date): SendOptions {
  const clock: Clock = { now: () => time };
  return { app: { overrideDeps: () => ({ clock }) } };
}

describe('sessions', () => {
  it('checks a session in one round trip and logs out in one', async () => {
    const { jar } = await signUp();
    const check = await sessionOf(jar);
    expect(check.response.status).toBe(200);
    expect(await check.roundTrips()).toBe(1);
    const out = await send(`${tenant.base}/v1/auth/logout`, {
      method: 'POST',
      headers: jar.header(),
    });
    expect(out.response.status).toBe(200);
    expect(await out.roundTrips()).toBe(1);
    expect(out.response.headers.get('Set-Cookie')).toMatch(/Max-Age=0/);
    // The server-side record is revoked: the old cookie no longer works even if replayed.
    const after = await sessionOf(jar);
    expect(after.response.status).toBe(401);
    expect(after.response.headers.get('WWW-Authenticate')).toContain('Bearer');
  });

  it('answers 401 without a cookie, and with a made-up one', async () => {
    expect((await send(`${tenant.base}/v1/auth/session`)).response.status).toBe(401);
    const jar = new CookieJar();
    jar.cookies.set(`__Host-gatehouse_${tenant.slug.replace(/-/g, '_')}`, 'A'.repeat(43));
    expect((await sessionOf(jar)).response.status).toBe(401);
  });

  it('lists own sessions with IP and user agent, revokes one, and revokes the others', async () => {
    const { jar: first, email } = await signUp(
      {},
      { 'CF-Connecting-IP': '203.0.113.7', 'User-Agent': 'first-browser' },
    );
    const second = await signIn(email, {
      'CF-Connecting-IP': '198.51.100.9',
      'User-Agent': 'second-browser',
    });
    const third = await signIn(email);
    const list = await send(`${tenant.base}/v1/auth/sessions`, { headers: first.header() });
    const body = await list.json<{
      sessions: { id: string; current: boolean; ip: string; user_agent: string }[];
    }>();
    expect(body.sessions).toHaveLength(3);
    expect(body.sessions.find((s) => s.current)).toMatchObject({
      ip: '203.0.113.7',
      user_agent: 'first-browser',
    });
    const secondId = body.sessions.find((s) => s.user_agent === 'second-browser')!.id;

    const revoke = await send(`${tenant.base}/v1/auth/sessions/${secondId}`, {
      method: 'DELETE',
      headers: first.header(),
    });
    expect(revoke.response.status).toBe(200);
    expect((await sessionOf(second)).response.status).toBe(401);
    expect((await sessionOf(third)).response.status).toBe(200);

    const again = await send(`${tenant.base}/v1/auth/sessions/${secondId}`, {
      method: 'DELETE',
      headers: first.header(),
    });
    expect(again.response.status).toBe(404);

    const others = await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
      method: 'POST',
      headers: first.header(),
    });
    expect(await others.json()).toEqual({ revoked: 1 });
    expect((await sessionOf(third)).response.status).toBe(401);
    expect((await sessionOf(first)).response.status).toBe(200);
  });

  it("cannot revoke another user's session", async () => {
    const { jar: mine } = await signUp();
    const { jar: theirs } = await signUp();
    const theirList = await send(`${tenant.base}/v1/auth/sessions`, { headers: theirs.header() });
    const theirId = (await theirList.json<{ sessions: { id: string }[] }>()).sessions[0]!.id;
    const attempt = await send(`${tenant.base}/v1/auth/sessions/${theirId}`, {
      method: 'DELETE',
      headers: mine.header(),
    });
    expect(attempt.response.status).toBe(404);
    expect((await sessionOf(theirs)).response.status).toBe(200);
  });

  it('changing the password revokes every other session and keeps this one', async () => {
    const { jar, email } = await signUp();
    const other = await signIn(email);
    const wrong = await send(
      `${tenant.base}/v1/auth/password/change`,
      jsonRequest(
        'POST',
        { current_password: 'not it at all', new_password: 'a brand new passphrase' },
        jar.header(),
      ),
    );
    expect(wrong.response.status).toBe(401);
    expect((await sessionOf(other)).response.status).toBe(200);

    const changed = await send(
      `${tenant.base}/v1/auth/password/change`,
      jsonRequest(
        'POST',
        { current_password: PASSWORD, new_password: 'a brand new passphrase' },
        jar.header(),
      ),
    );
    expect(changed.response.status).toBe(200);
    expect((await sessionOf(other)).response.status).toBe(401);
    expect((await sessionOf(jar)).response.status).toBe(200);
    const oldLogin = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: PASSWORD }),
    );
    expect(oldLogin.response.status).toBe(401);
    const newLogin = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'a brand new passphrase' }),
    );
    expect(newLogin.response.status).toBe(200);
  });

  it('expires after the idle lifetime unless used, and after the absolute lifetime regardless', async () => {
    const start = new Date(Date.now() + 1000);
    const { jar } = await signUp(at(start));
    const plus = (seconds: number) => at(new Date(start.getTime() + seconds * 1000));
    expect((await sessionOf(jar, plus(3599))).response.status).toBe(200); // idle - 1: still live, and touched
    expect((await sessionOf(jar, plus(3599 + 3599))).response.status).toBe(200); // the touch moved the idle expiry
    expect((await sessionOf(jar, plus(3599 + 3600 + 3600))).response.status).toBe(401); // idle passed since last use

    const { jar: busy } = await signUp(at(start));
    // Used every 50 minutes, it never idles out…
    for (let seconds = 3000; seconds < 8 * 3600; seconds += 3000) {
      expect((await sessionOf(busy, plus(seconds))).response.status).toBe(200);
    }
    expect((await sessionOf(busy, plus(8 * 3600 - 1))).response.status).toBe(200); // absolute - 1
    expect((await sessionOf(busy, plus(8 * 3600))).response.status).toBe(401); // absolute
  });

  it('stores only a hash of the session token', async () => {
    const { jar } = await signUp();
    const token = [...jar.cookies.values()][0]!;
    const result = await testDB().execute(
      sql`select count(*)::int as n from sessions where token_hash = ${token}`,
    );
    expect(Number(result.rows[0]?.n)).toBe(0);
  });
});

describe('the origin check on cookie-authenticated writes', () => {
  it('refuses a foreign origin and an opaque one, and changes nothing', async () => {
    const { jar } = await signUp();
    for (const origin of ['https://evil.example', 'null']) {
      const out = await send(`${tenant.base}/v1/auth/logout`, {
        method: 'POST',
        headers: { ...jar.header(), Origin: origin },
      });
      expect(out.response.status).toBe(403);
      expect(await out.json()).toMatchObject({ error: 'origin_not_allowed' });
      const others = await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
        method: 'POST',
        headers: { ...jar.header(), Origin: origin },
      });
      expect(others.response.status).toBe(403);
    }
    expect((await sessionOf(jar)).response.status).toBe(200);
  });

  it('accepts an allowed origin and the service’s own origin', async () => {
    const { jar } = await signUp();
    const own = await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
      method: 'POST',
      headers: { ...jar.header(), Origin: 'https://gatehouse.test' },
    });
    expect(own.response.status).toBe(200);
    const out = await send(`${tenant.base}/v1/auth/logout`, {
      method: 'POST',
      headers: { ...jar.header(), Origin: 'https://app.example.com' },
    });
    expect(out.response.status).toBe(200);
    expect((await sessionOf(jar)).response.status).toBe(401);
  });
});
