import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, testDB, uniqueEmail, uniqueSlug } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator } from './fixtures.ts';

let key: string;
let keyId: string;

beforeAll(async () => {
  const operator = await makeOperator();
  ({ key, id: keyId } = await makeKey(operator));
});

const api = (path: string, init: RequestInit = {}) =>
  send(`${ADMIN}${path}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), ...bearer(key) },
  });
const json = (method: string, body: unknown): RequestInit => jsonRequest(method, body);

async function newTenant(body: Record<string, unknown> = {}): Promise<string> {
  const slug = uniqueSlug('adm');
  const sent = await api('/tenants', json('POST', { slug, name: 'Admin test', ...body }));
  expect(sent.response.status).toBe(201);
  return slug;
}

async function events(type: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from audit_events where type = ${type} and actor_id = ${keyId}`,
  );
  return Number(result.rows[0]!.n);
}

describe('tenants', () => {
  it('are created with their first signing key and settings in snake_case, audited', async () => {
    const before = await events('admin.tenant.created');
    const slug = await newTenant({
      settings: { password_policy: { min_length: 12 }, access_token_ttl_seconds: 300 },
      cors_origins: ['https://app.example.com'],
    });
    const got = await api(`/tenants/${slug}`);
    expect(await got.json()).toMatchObject({
      tenant: {
        slug,
        cors_origins: ['https://app.example.com'],
        settings: {
          password_policy: { min_length: 12 },
          access_token_ttl_seconds: 300,
          registration_enabled: true,
        },
      },
    });
    const keys = await api(`/tenants/${slug}/signing-keys`);
    expect(await keys.json()).toMatchObject({ total: 1, items: [{ status: 'active' }] });
    expect(await events('admin.tenant.created')).toBe(before + 1);
    const again = await api('/tenants', json('POST', { slug, name: 'dup' }));
    expect(again.response.status).toBe(409);
  });

  it('update settings field by field, hostnames and CORS origins, in one statement with its event', async () => {
    const slug = await newTenant({
      settings: { password_policy: { min_length: 12, require_classes: ['digit'] } },
    });
    const before = await events('admin.tenant.updated');
    const sent = await api(
      `/tenants/${slug}`,
      json('PATCH', {
        settings: {
          password_policy: { reject_email_local_part: true },
          registration_enabled: false,
        },
        hostnames: [`id.${slug}.example.com`],
        cors_origins: [],
      }),
    );
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2);
    expect(await sent.json()).toMatchObject({
      tenant: {
        hostnames: [`id.${slug}.example.com`],
        settings: {
          password_policy: {
            min_length: 12,
            require_classes: ['digit'],
            reject_email_local_part: true,
          },
          registration_enabled: false,
        },
      },
    });
    expect(await events('admin.tenant.updated')).toBe(before + 1);
    // Registration is now closed on the tenant's own API.
    const register = await send(
      `/t/${slug}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: 'Closed-door-12345' }),
    );
    expect(await register.json()).toMatchObject({ error: 'registration_closed' });
    // Out-of-range values and another tenant's hostname are refused, changing nothing.
    expect(
      (await api(`/tenants/${slug}`, json('PATCH', { settings: { access_token_ttl_seconds: 5 } })))
        .response.status,
    ).toBe(400);
    const taken = await newTenant({ hostnames: [`taken.${slug}.example.com`] });
    const clash = await api(
      `/tenants/${slug}`,
      json('PATCH', { name: 'renamed', hostnames: [`taken.${slug}.example.com`] }),
    );
    expect(clash.response.status).toBe(409);
    expect(await (await api(`/tenants/${slug}`)).json()).toMatchObject({
      tenant: { name: 'Admin test', hostnames: [`id.${slug}.example.com`] },
    });
    expect(taken).toBeTruthy();
  });

  it('are listed in creation order with a total', async () => {
    await newTenant();
    const page1 = await api('/tenants?limit=2&offset=0');
    const body1 = await page1.json<{ items: { slug: string }[]; total: number }>();
    const page2 = await api('/tenants?limit=2&offset=1');
    const body2 = await page2.json<{ items: { slug: string }[]; total: number }>();
    expect(body1.total).toBeGreaterThanOrEqual(2);
    expect(body1.items[1]!.slug).toBe(body2.items[0]!.slug);
    const past = await api(`/tenants?limit=5&offset=${body1.total + 10}`);
    expect(await past.json()).toMatchObject({ items: [], total: expect.any(Number) });
  });

  it('are deleted only with the slug repeated, taking their users with them', async () => {
    const slug = await newTenant();
    await api(`/tenants/${slug}/users`, json('POST', { email: uniqueEmail() }));
    expect((await api(`/tenants/${slug}`, json('DELETE', {}))).response.status).toBe(400);
    expect(
      (await api(`/tenants/${slug}`, json('DELETE', { confirm: `${slug}x` }))).response.status,
    ).toBe(400);
    expect((await api(`/tenants/${slug}`, json('DELETE', { confirm: slug }))).response.status).toBe(
      200,
    );
    expect((await api(`/tenants/${slug}`)).response.status).toBe(404);
  });

  it('rotate and retire signing keys: the old key stays published until retired', async () => {
    const slug = await newTenant();
    const original = (
      await (await api(`/tenants/${slug}/signing-keys`)).json<{ items: { kid: string }[] }>()
    ).items[0]!.kid;
    expect(
      (await api(`/tenants/${slug}/signing-keys/${original}/retire`, { method: 'POST' })).response
        .status,
    ).toBe(404);
    const rotated = await api(`/tenants/${slug}/signing-keys/rotate`, json('POST', {}));
    expect(rotated.response.status).toBe(201);
    const listed = await (
      await api(`/tenants/${slug}/signing-keys`)
    ).json<{ items: { kid: string; status: string }[] }>();
    expect(listed.items.find((k) => k.kid === original)?.status).toBe('published');
    expect(
      (await api(`/tenants/${slug}/signing-keys/${original}/retire`, { method: 'POST' })).response
        .status,
    ).toBe(200);
    const jwks = await send(`/t/${slug}/.well-known/jwks.json`);
    if (jwks.response.status === 200)
      expect(JSON.stringify(await jwks.json())).not.toContain(original);
  });
});

describe('users of a tenant', () => {
  it('are created, searched and paginated with a total, in a stable order', async () => {
    const slug = await newTenant();
    const tag = Math.random().toString(36).slice(2, 8);
    for (let i = 0; i < 3; i++) {
      const sent = await api(
        `/tenants/${slug}/users`,
        json('POST', { email: `find-${tag}-${i}@example.com`, name: `Person ${i}` }),
      );
      expect(sent.response.status).toBe(201);
    }
    await api(`/tenants/${slug}/users`, json('POST', { email: uniqueEmail() }));
    const found = await api(`/tenants/${slug}/users?search=${tag}&limit=2`);
    const body = await found.json<{ items: { email: string }[]; total: number }>();
    expect(body.total).toBe(3);
    expect(body.items.map((u) => u.email)).toEqual([
      `find-${tag}-0@example.com`,
      `find-${tag}-1@example.com`,
    ]);
    expect(await found.roundTrips()).toBe(2);
    const wildcard = await api(`/tenants/${slug}/users?search=%25`);
    expect(await wildcard.json()).toMatchObject({ total: 0 });
    const dup = await api(
      `/tenants/${slug}/users`,
      json('POST', { email: `FIND-${tag}-0@example.com` }),
    );
    expect(dup.response.status).toBe(409);
  });

  it('follow the tenant password policy, sign in with an admin-set password, and lose sessions when disabled', async () => {
    const slug = await newTenant({ settings: { password_policy: { min_length: 14 } } });
    const email = uniqueEmail();
    const weak = await api(
      `/tenants/${slug}/users`,
      json('POST', { email, password: 'short-pass-1' }),
    );
    expect(await weak.json()).toMatchObject({ error: 'password_too_short' });
    const created = await api(
      `/tenants/${slug}/users`,
      json('POST', { email, password: 'long-enough-pass-1' }),
    );
    const { user } = await created.json<{ user: { id: string } }>();
    const login = await send(
      `/t/${slug}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'long-enough-pass-1' }),
    );
    expect(login.response.status).toBe(200);
    const jar = new CookieJar();
    jar.store(login.response);
    const sessions = await api(`/tenants/${slug}/users/${user.id}/sessions`);
    expect(await sessions.json()).toMatchObject({ total: 1 });
    const disabled = await api(`/tenants/${slug}/users/${user.id}/disable`, { method: 'POST' });
    expect(await disabled.json()).toMatchObject({ user: { disabled: true } });
    expect(
      (await send(`/t/${slug}/v1/auth/session`, { headers: jar.header() })).response.status,
    ).toBe(401);
    expect(
      (
        await send(
          `/t/${slug}/v1/auth/login`,
          jsonRequest('POST', { email, password: 'long-enough-pass-1' }),
        )
      ).response.status,
    ).toBe(401);
    await api(`/tenants/${slug}/users/${user.id}/enable`, { method: 'POST' });
    const reset = await api(
      `/tenants/${slug}/users/${user.id}/password`,
      json('PUT', { password: 'a-new-long-password-2' }),
    );
    expect(reset.response.status).toBe(200);
    expect(
      (
        await send(
          `/t/${slug}/v1/auth/login`,
          jsonRequest('POST', { email, password: 'a-new-long-password-2' }),
        )
      ).response.status,
    ).toBe(200);
  });

  it('are updated, have their sessions revoked, and are deleted, each write audited', async () => {
    const slug = await newTenant();
    const email = uniqueEmail();
    const created = await api(
      `/tenants/${slug}/users`,
      json('POST', { email, password: 'some-password-123' }),
    );
    const { user } = await created.json<{ user: { id: string } }>();
    const updated = await api(
      `/tenants/${slug}/users/${user.id}`,
      json('PATCH', { name: 'Renamed', email_verified: true }),
    );
    expect(await updated.json()).toMatchObject({
      user: { name: 'Renamed', email_verified: true, email },
    });
    const login = await send(
      `/t/${slug}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'some-password-123' }),
    );
    const jar = new CookieJar();
    jar.store(login.response);
    const revoked = await api(`/tenants/${slug}/users/${user.id}/sessions/revoke`, {
      method: 'POST',
    });
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect(
      (await send(`/t/${slug}/v1/auth/session`, { headers: jar.header() })).response.status,
    ).toBe(401);
    const audited = async () =>
      (
        await testDB().execute(sql`
      select type from audit_events where target_id = ${user.id} and actor_id = ${keyId} order by created_at, type`)
      ).rows.map((r) => r.type);
    expect((await audited()).sort()).toEqual(
      ['admin.user.created', 'admin.user.sessions_revoked', 'admin.user.updated'].sort(),
    );
    const deleted = await api(`/tenants/${slug}/users/${user.id}`, { method: 'DELETE' });
    expect(deleted.response.status).toBe(200);
    expect((await api(`/tenants/${slug}/users/${user.id}`)).response.status).toBe(404);
    // Delete is erasure (issue 17): the user's events no longer name them; the deletion is
    // recorded by the key that did it, naming no user.
    expect(await audited()).toEqual([]);
    const recorded = await testDB().execute(sql`
      select target_type, target_id from audit_events where request_id = ${deleted.requestId} and type = 'admin.user.deleted' and actor_id = ${keyId}`);
    expect(recorded.rows).toEqual([{ target_type: 'user', target_id: null }]);
  });
});
