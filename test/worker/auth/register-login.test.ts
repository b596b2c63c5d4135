import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant();
  await send(`${tenant.base}/v1/auth/session`); // first request per isolate checks the schema
});

async function userCount(email: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${email.trim().toLowerCase()}`,
  );
  return Number(result.rows[0]?.n);
}

describe('register', () => {
  it('creates the user, an owned organization and a session cookie in at most two round trips', async () => {
    const email = uniqueEmail();
    const sent = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery', organization_name: 'Acme' }),
    );
    expect(sent.response.status).toBe(201);
    const body = await sent.json<{
      user: { email: string };
      session: { role: string; active_organization_id: string };
    }>();
    expect(body.user.email).toBe(email);
    expect(body.session.role).toBe('owner');
    expect(body.session.active_organization_id).toMatch(/^[0-9a-f-]{36}$/);
    const cookie = sent.response.headers.get('Set-Cookie')!;
    expect(cookie).toMatch(
      new RegExp(`^__Host-gatehouse_${tenant.slug.replace(/-/g, '_')}=[A-Za-z0-9_-]{43};`),
    );
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
  });

  it('refuses a second account for the same email, trimmed and case-insensitive', async () => {
    const email = uniqueEmail();
    await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    const again = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', {
        email: `  ${email.toUpperCase()} `,
        password: 'another fine password',
      }),
    );
    expect(again.response.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'email_taken' });
    expect(await userCount(email)).toBe(1);
  });

  it('lets exactly one of ten concurrent registrations of one email win', async () => {
    const email = uniqueEmail();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        send(
          `${tenant.base}/v1/auth/register`,
          jsonRequest('POST', { email, password: 'correct horse battery' }),
        ),
      ),
    );
    const statuses = results.map((r) => r.response.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    expect(await userCount(email)).toBe(1);
  });
});

describe('login', () => {
  it('signs in with the right password in at most two round trips', async () => {
    const email = uniqueEmail();
    await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    const sent = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: email.toUpperCase(), password: 'correct horse battery' }),
    );
    expect(sent.response.status).toBe(200);
    const jar = new CookieJar();
    jar.store(sent.response);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(200);
    expect(await session.json()).toMatchObject({ user: { email } });
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
    expect(await session.roundTrips()).toBe(1);
  });
});
