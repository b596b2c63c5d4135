import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import { hashToken } from '../../../src/lib/keys.ts';
import { makeTenant, testDB } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator } from './fixtures.ts';

function at(time: Date): SendOptions {
  const clock: Clock = { now: () => time };
  return { app: { overrideDeps: () => ({ clock }) } };
}

async function keyRow(id: string): Promise<Record<string, unknown>> {
  const result = await testDB().execute(
    sql`select key_hash, key_prefix, last_used_at from api_keys where id = ${id}::uuid`,
  );
  return result.rows[0]!;
}

describe('API keys', () => {
  it('are shown once as ghk_ + 32 random bytes, stored only as SHA-256, listed by prefix', async () => {
    const operator = await makeOperator();
    const { key, id } = await makeKey(operator, { scopes: ['tenants:read'] });
    expect(key).toMatch(/^ghk_[A-Za-z0-9_-]{43}$/);
    const row = await keyRow(id);
    expect(row.key_hash).toBe(await hashToken(key));
    expect(key.startsWith(String(row.key_prefix))).toBe(true);
    const list = await send(`${ADMIN}/api-keys?limit=100`, { headers: operator.jar.header() });
    const text = await list.response.text();
    expect(text).not.toContain(key);
    expect(text).toContain(String(row.key_prefix));
  });

  it('authenticate in one round trip and record last use at most once a minute', async () => {
    const operator = await makeOperator();
    const tenant = await makeTenant();
    const { key, id } = await makeKey(operator, { scopes: ['tenants:read'] });
    const t0 = new Date(Date.now() + 5_000);
    const first = await send(`${ADMIN}/tenants/${tenant.slug}`, { headers: bearer(key) }, at(t0));
    expect(first.response.status).toBe(200);
    expect(await first.roundTrips()).toBe(2); // the key (with its touch), then the tenant
    expect(new Date(String((await keyRow(id)).last_used_at)).getTime()).toBe(t0.getTime());
    await send(
      `${ADMIN}/tenants/${tenant.slug}`,
      { headers: bearer(key) },
      at(new Date(t0.getTime() + 30_000)),
    );
    expect(new Date(String((await keyRow(id)).last_used_at)).getTime()).toBe(t0.getTime());
    const later = new Date(t0.getTime() + 61_000);
    await send(`${ADMIN}/tenants/${tenant.slug}`, { headers: bearer(key) }, at(later));
    expect(new Date(String((await keyRow(id)).last_used_at)).getTime()).toBe(later.getTime());
  });

  it('stop working when revoked, and at their expiry (not a second before)', async () => {
    const operator = await makeOperator();
    const expiry = new Date(Date.now() + 3600_000);
    const { key, id } = await makeKey(operator, {
      scopes: ['tenants:read'],
      expires_at: expiry.toISOString(),
    });
    const before = await send(
      `${ADMIN}/tenants`,
      { headers: bearer(key) },
      at(new Date(expiry.getTime() - 1000)),
    );
    expect(before.response.status).toBe(200);
    const atExpiry = await send(`${ADMIN}/tenants`, { headers: bearer(key) }, at(expiry));
    expect(atExpiry.response.status).toBe(401);
    expect(atExpiry.response.headers.get('WWW-Authenticate')).toContain('invalid_token');
    const revoke = await send(`${ADMIN}/api-keys/${id}`, {
      method: 'DELETE',
      headers: operator.jar.header(),
    });
    expect(await revoke.json()).toMatchObject({ api_key: { revoked_at: expect.any(String) } });
    expect((await send(`${ADMIN}/tenants`, { headers: bearer(key) })).response.status).toBe(401);
  });

  it('carry only their scopes: 403 insufficient_scope names the missing one', async () => {
    const operator = await makeOperator();
    const tenant = await makeTenant();
    const { key } = await makeKey(operator, { scopes: ['tenants:read'] });
    expect(
      (await send(`${ADMIN}/tenants/${tenant.slug}`, { headers: bearer(key) })).response.status,
    ).toBe(200);
    const write = await send(
      `${ADMIN}/tenants/${tenant.slug}`,
      jsonRequest('PATCH', { name: 'nope' }, bearer(key)),
    );
    expect(write.response.status).toBe(403);
    expect(await write.json()).toMatchObject({
      error: 'insufficient_scope',
      scope: 'tenants:write',
    });
    const users = await send(`${ADMIN}/tenants/${tenant.slug}/users`, { headers: bearer(key) });
    expect(await users.json()).toMatchObject({ error: 'insufficient_scope', scope: 'users:read' });
  });

  it('bound to a tenant see only it, cannot create tenants, and get 404 for others alike whether they exist or not', async () => {
    const operator = await makeOperator();
    const [a, b] = [await makeTenant(), await makeTenant()];
    const { key } = await makeKey(operator, { tenant: a.slug });
    expect(
      (await send(`${ADMIN}/tenants/${a.slug}/users`, { headers: bearer(key) })).response.status,
    ).toBe(200);
    const other = await send(`${ADMIN}/tenants/${b.slug}/users`, { headers: bearer(key) });
    const missing = await send(`${ADMIN}/tenants/no-such-tenant-x/users`, { headers: bearer(key) });
    expect(other.response.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: 'unknown_tenant' });
    expect(await missing.json()).toEqual(await other.json());
    const create = await send(
      `${ADMIN}/tenants`,
      jsonRequest('POST', { slug: `x-${Date.now()}`, name: 'x' }, bearer(key)),
    );
    expect(create.response.status).toBe(403);
  });

  it('cannot be bound to a tenant that does not exist, nor expire in the past', async () => {
    const operator = await makeOperator();
    const unknown = await send(
      `${ADMIN}/api-keys`,
      jsonRequest(
        'POST',
        { name: 'k', scopes: ['tenants:read'], tenant: 'no-such-tenant-y' },
        operator.jar.header(),
      ),
    );
    expect(unknown.response.status).toBe(404);
    const past = await send(
      `${ADMIN}/api-keys`,
      jsonRequest(
        'POST',
        {
          name: 'k',
          scopes: ['tenants:read'],
          expires_at: new Date(Date.now() - 1000).toISOString(),
        },
        operator.jar.header(),
      ),
    );
    expect(past.response.status).toBe(400);
    const badScope = await send(
      `${ADMIN}/api-keys`,
      jsonRequest('POST', { name: 'k', scopes: ['root'] }, operator.jar.header()),
    );
    expect(badScope.response.status).toBe(400);
  });
});
