// Regression for issue 11: unlock of an id that is not a user of the tenant answered
// 200 {"status":"not_locked"}, where every other user route answers 404.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

let tenant: TestTenant;
let other: TestTenant;
let auth: Record<string, string>;

beforeAll(async () => {
  tenant = await makeTenant();
  other = await makeTenant();
  auth = bearer((await makeOperator().then((operator) => makeKey(operator))).key);
});

describe('unlock answers 404 for an id that is not a user of the tenant', () => {
  const unlock = (slug: string, id: string) =>
    send(`/admin/api/v1/tenants/${slug}/users/${id}/unlock`, { method: 'POST', headers: auth });

  it('an unknown id', async () => {
    const sent = await unlock(tenant.slug, crypto.randomUUID());
    expect(sent.response.status).toBe(404);
    expect(await sent.json()).toMatchObject({ error: 'not_found' });
  });

  it("another tenant's user", async () => {
    const registered = await send(
      `${other.base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: 'correct horse battery' }),
    );
    expect(registered.response.status).toBe(201);
    const id = String(
      (await testDB().execute(sql`select id from users where tenant_id = ${other.id}::uuid`))
        .rows[0]!.id,
    );
    const foreign = await unlock(tenant.slug, id);
    expect(foreign.response.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: 'not_found' });
    // The key, the tenant, one statement that unlocks and checks membership: no extra round trip.
    expect(await foreign.roundTrips()).toBe(3);
    const own = await unlock(other.slug, id);
    expect(own.response.status).toBe(200);
    expect(await own.json()).toEqual({ status: 'not_locked' });
  });
});
