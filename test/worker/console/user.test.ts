// The console's page for one user: their live sessions in two SQL round trips, the admin export
// link, ending every session from there; an unknown user is a 404 page.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import { openPage, submit } from '../pages/helpers.ts';
import { countRows, makeOperator } from '../admin/fixtures.ts';
import { registerUser } from '../mfa/helpers.ts';

let jar: CookieJar;
let tenant: TestTenant;
let userId: string;

beforeAll(async () => {
  const operator = await makeOperator();
  jar = new CookieJar();
  const csrf = (await openPage('/admin/login', jar)).csrf;
  const sent = await submit(
    '/admin/login',
    { csrf_token: csrf, email: operator.email, password: operator.password },
    jar,
  );
  expect(sent.response.status).toBe(303);
  jar.store(sent.response);
  tenant = await makeTenant();
  const user = await registerUser(tenant); // registering signs in: one live session
  const row = await testDB().execute(
    sql`select id from users where tenant_id = ${tenant.id} and email = ${user.email}`,
  );
  userId = String(row.rows[0]!.id);
});

describe('console user page', () => {
  it('lists the live sessions and links the admin export, in two round trips', async () => {
    const path = `/admin/tenants/${tenant.slug}/users/${userId}`;
    const sent = await send(path, { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    const body = await sent.response.text();
    expect(body).toContain('1 live sessions');
    expect(body).toContain(`href="/admin/api/v1/tenants/${tenant.slug}/users/${userId}/export"`);
    expect(await sent.roundTrips()).toBe(2);
    const list = await send(`/admin/tenants/${tenant.slug}/users`, { headers: jar.header() });
    expect(await list.response.text()).toContain(`href="${path}"`);
  });

  it('ends every session from the page', async () => {
    const path = `/admin/tenants/${tenant.slug}/users/${userId}`;
    const csrf = (await openPage(path, jar)).csrf;
    const sent = await submit(`${path}/sessions/revoke`, { csrf_token: csrf }, jar);
    expect(sent.response.status).toBe(303);
    expect(await countRows('sessions', sql`user_id = ${userId}::uuid and revoked_at is null`)).toBe(
      0,
    );
    const after = await send(path, { headers: jar.header() });
    expect(await after.response.text()).toContain('0 live sessions');
  });

  it('answers an unknown user with a 404, and a malformed id too', async () => {
    const unknown = await send(`/admin/tenants/${tenant.slug}/users/${crypto.randomUUID()}`, {
      headers: jar.header(),
    });
    expect(unknown.response.status).toBe(404);
    const malformed = await send(`/admin/tenants/${tenant.slug}/users/not-a-uuid`, {
      headers: jar.header(),
    });
    expect(malformed.response.status).toBe(404);
  });
});
