import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { makeTenant, testDB, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { makeKey, makeOperator } from '../admin/fixtures.ts';

describe('the audit API and unlock', () => {
  it('lists a tenant’s events newest first with filters and a cursor, and unlocks a locked account', async () => {
    const operator = await makeOperator();
    const tenant = await makeTenant({
      settings: { lockout: { maxFailures: 2, windowSeconds: 900, durationSeconds: 900 } },
    });
    const email = uniqueEmail();
    await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    for (let i = 0; i < 2; i++) {
      await send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest('POST', { email, password: 'wrong password here' }),
      );
    }
    const locked = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    expect(locked.response.status).toBe(401);

    const { key: reader } = await makeKey(operator, { scopes: ['audit:read', 'users:write'] });
    const auth = { Authorization: `Bearer ${reader}` };
    const page1 = await send(
      `/admin/api/v1/tenants/${tenant.slug}/audit?type=security.login.failed&limit=2`,
      { headers: auth },
    );
    expect(page1.response.status).toBe(200);
    const body1 = await page1.json<{
      items: { type: string; created_at: string }[];
      next_cursor: string | null;
    }>();
    expect(body1.items.map((e) => e.type)).toEqual([
      'security.login.failed',
      'security.login.failed',
    ]);
    expect(body1.next_cursor).not.toBeNull();
    const page2 = await send(
      `/admin/api/v1/tenants/${tenant.slug}/audit?type=security.login.failed&limit=2&cursor=${body1.next_cursor}`,
      { headers: auth },
    );
    const body2 = await page2.json<{ items: unknown[]; next_cursor: string | null }>();
    expect(body2.items).toHaveLength(1); // the third failure: the locked attempt
    expect(body2.next_cursor).toBeNull();

    const userId = String(
      (await testDB().execute(sql`select id from users where tenant_id = ${tenant.id}::uuid`))
        .rows[0]!.id,
    );
    const unlock = await send(`/admin/api/v1/tenants/${tenant.slug}/users/${userId}/unlock`, {
      method: 'POST',
      headers: auth,
    });
    expect(await unlock.json()).toEqual({ status: 'unlocked' });
    const unlocked = await send(
      `/admin/api/v1/tenants/${tenant.slug}/audit?type=security.account.unlocked`,
      { headers: auth },
    );
    expect((await unlocked.json<{ items: { actor: { type: string } }[] }>()).items).toMatchObject([
      { actor: { type: 'api_key' } },
    ]);
    const login = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    expect(login.response.status).toBe(200);

    const { key: noScope } = await makeKey(operator, { scopes: ['users:read'] });
    const refused = await send(`/admin/api/v1/tenants/${tenant.slug}/audit`, {
      headers: { Authorization: `Bearer ${noScope}` },
    });
    expect(refused.response.status).toBe(403);
    const badCursor = await send(`/admin/api/v1/tenants/${tenant.slug}/audit?cursor=nonsense`, {
      headers: auth,
    });
    expect(badCursor.response.status).toBe(400);
  });
});
