// Issue 13: the admin API for a tenant's OAuth clients over HTTP with real API keys: CRUD and
// its snake_case contract, the secret shown once and stored as SHA-256, rotation killing the old
// secret at once, scopes, tenant binding, audit events in the write's statement, round trips.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  findClient,
  hashClientSecret,
  verifyClientSecret,
} from '../../../src/features/clients/repo.ts';
import { makeKey, makeOperator, type TestOperator } from '../admin/fixtures.ts';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import {
  WEB_CLIENT,
  adminCall,
  clientCount,
  clientRow,
  clientsPath,
  oauthEvents,
  registerClient,
  type ClientBody,
} from './fixtures.ts';

let operator: TestOperator;
let key: string;

beforeAll(async () => {
  operator = await makeOperator();
  key = (await makeKey(operator)).key;
});

async function loadClient(tenant: TestTenant, clientId: string) {
  const found = await findClient(
    testDB(),
    { ref: { by: 'slug', slug: tenant.slug }, tenant: null },
    clientId,
  );
  return found!.client!;
}

describe('OAuth client registration', () => {
  it('answers the record and a 32-byte secret once, stores only its SHA-256, in two round trips', async () => {
    const tenant = await makeTenant();
    const sent = await adminCall(key, tenant, 'POST', '', {
      ...WEB_CLIENT,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      first_party: true,
      access_token_ttl_seconds: 300,
      refresh_token_ttl_seconds: 86_400,
    });
    expect(sent.response.status).toBe(201);
    expect(sent.response.headers.get('Cache-Control')).toBe('no-store');
    expect(await sent.roundTrips()).toBe(2); // the key, then the insert with its audit event
    const { client, client_secret: secret } = await sent.json<{
      client: ClientBody;
      client_secret: string;
    }>();
    expect(client).toMatchObject({
      name: 'Web app',
      type: 'confidential',
      redirect_uris: ['https://app.example.com/callback'],
      post_logout_redirect_uris: ['https://app.example.com/'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      first_party: true,
      access_token_ttl_seconds: 300,
      id_token_ttl_seconds: null,
      refresh_token_ttl_seconds: 86_400,
      secret_rotated_at: null,
    });
    expect(client.client_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url
    const row = await clientRow(client.client_id);
    expect(row?.secret_hash).toBe(await hashClientSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(await verifyClientSecret(await loadClient(tenant, client.client_id), secret)).toBe(true);

    // Never again: not in the record, the list, or the audit trail.
    const got = await adminCall(key, tenant, 'GET', `/${client.client_id}`);
    expect(await got.roundTrips()).toBe(2);
    const gotText = await got.response.text();
    expect(gotText).not.toContain(secret);
    expect(JSON.parse(gotText)).toEqual({ client });
    const list = await adminCall(key, tenant, 'GET');
    expect(await list.response.text()).not.toContain(secret);
    const [event] = await oauthEvents(tenant.id, 'oauth.client.created');
    expect(event).toMatchObject({
      actor_type: 'api_key',
      target_type: 'oauth_client',
      target_id: String(row?.id),
      details: { client_id: client.client_id, type: 'confidential', first_party: true },
    });
    expect(JSON.stringify(event)).not.toContain(secret);
  });

  it('gives a public client no secret and defaults to the code and refresh grants', async () => {
    const tenant = await makeTenant();
    const { client, client_secret } = await registerClient(key, tenant, {
      name: 'Phone app',
      type: 'public',
      redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1/cb'],
    });
    expect(client_secret).toBeNull();
    expect(client).toMatchObject({
      type: 'public',
      grant_types: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'email'],
      first_party: false,
    });
    expect((await clientRow(client.client_id))?.secret_hash).toBeNull();
  });

  it('lists with a stable order, totals and the page envelope', async () => {
    const tenant = await makeTenant();
    for (const name of ['one', 'two', 'three'])
      await registerClient(key, tenant, { ...WEB_CLIENT, name });
    const first = await adminCall(key, tenant, 'GET', '?limit=2');
    expect(await first.roundTrips()).toBe(2);
    const page1 = await first.json<{ items: ClientBody[] }>();
    const page2 = await (
      await adminCall(key, tenant, 'GET', '?limit=2&offset=2')
    ).json<{
      items: ClientBody[];
    }>();
    expect(page1).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(page2).toMatchObject({ total: 3, limit: 2, offset: 2 });
    expect([...page1.items, ...page2.items].map((c) => c.name)).toEqual(['one', 'two', 'three']);
    expect((await adminCall(key, tenant, 'GET', '?limit=0')).response.status).toBe(400);
    const empty = await adminCall(key, await makeTenant(), 'GET');
    expect(await empty.json()).toEqual({ items: [], total: 0, limit: 50, offset: 0 });
  });

  it('patches only the named fields, in three round trips, and audits which fields changed', async () => {
    const tenant = await makeTenant();
    const { client } = await registerClient(key, tenant);
    const sent = await adminCall(key, tenant, 'PATCH', `/${client.client_id}`, {
      name: 'Renamed',
      redirect_uris: ['https://app.example.com/cb2', 'https://app.example.com/cb3'],
      access_token_ttl_seconds: 120,
    });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(3); // the key, the read, the conditional write
    const { client: patched } = await sent.json<{ client: ClientBody }>();
    expect(patched).toMatchObject({
      ...client,
      name: 'Renamed',
      redirect_uris: ['https://app.example.com/cb2', 'https://app.example.com/cb3'],
      access_token_ttl_seconds: 120,
      updated_at: expect.any(String),
    });
    // null returns a lifetime to the tenant's setting.
    const reset = await adminCall(key, tenant, 'PATCH', `/${client.client_id}`, {
      access_token_ttl_seconds: null,
    });
    expect((await reset.json<{ client: ClientBody }>()).client.access_token_ttl_seconds).toBeNull();
    const events = await oauthEvents(tenant.id, 'oauth.client.updated');
    expect(events.map((e) => (e.details as { fields: string[] }).fields)).toEqual([
      ['name', 'redirect_uris', 'access_token_ttl_seconds'],
      ['access_token_ttl_seconds'],
    ]);
    // type is not patchable, nor is an empty patch anything.
    for (const body of [{ type: 'public' }, {}]) {
      const refused = await adminCall(key, tenant, 'PATCH', `/${client.client_id}`, body);
      expect(refused.response.status).toBe(400);
    }
  });

  it('deletes a client (then 404 for it) in two round trips', async () => {
    const tenant = await makeTenant();
    const { client } = await registerClient(key, tenant);
    const sent = await adminCall(key, tenant, 'DELETE', `/${client.client_id}`);
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toEqual({ status: 'deleted' });
    expect(await sent.roundTrips()).toBe(2);
    expect(await clientRow(client.client_id)).toBeUndefined();
    for (const [method, rest] of [
      ['GET', ''],
      ['DELETE', ''],
      ['PATCH', ''],
      ['POST', '/secret'],
    ] as const) {
      const again = await adminCall(
        key,
        tenant,
        method,
        `/${client.client_id}${rest}`,
        method === 'PATCH' ? { name: 'x' } : undefined,
      );
      expect(again.response.status, `${method} ${rest}`).toBe(404);
      expect(await again.json()).toMatchObject({ error: 'not_found' });
    }
    expect(await oauthEvents(tenant.id, 'oauth.client.deleted')).toHaveLength(1);
    // A malformed client_id is a 404 before any query.
    const odd = await adminCall(key, tenant, 'GET', '/not-a-client-id');
    expect(odd.response.status).toBe(404);
    expect(await odd.roundTrips()).toBe(1);
  });
});

describe('secret rotation', () => {
  it('shows the new secret once and the old one stops verifying at once (no grace period)', async () => {
    const tenant = await makeTenant();
    const { client, client_secret: old } = await registerClient(key, tenant);
    const sent = await adminCall(key, tenant, 'POST', `/${client.client_id}/secret`);
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Cache-Control')).toBe('no-store');
    expect(await sent.roundTrips()).toBe(2);
    const body = await sent.json<{ client: ClientBody; client_secret: string }>();
    expect(body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.client_secret).not.toBe(old);
    expect(body.client.secret_rotated_at).not.toBeNull();
    const stored = await loadClient(tenant, client.client_id);
    expect(await verifyClientSecret(stored, old!)).toBe(false);
    expect(await verifyClientSecret(stored, body.client_secret)).toBe(true);
    expect(stored.secretHash).toBe(await hashClientSecret(body.client_secret));
    const [event] = await oauthEvents(tenant.id, 'oauth.client.secret_rotated');
    expect(event?.details).toEqual({ client_id: client.client_id });
  });

  it('refuses a public client (it has no secret) and writes nothing', async () => {
    const tenant = await makeTenant();
    const { client } = await registerClient(key, tenant, {
      name: 'SPA',
      type: 'public',
      redirect_uris: ['https://spa.example.com/cb'],
    });
    const sent = await adminCall(key, tenant, 'POST', `/${client.client_id}/secret`);
    expect(sent.response.status).toBe(400);
    expect(await sent.json()).toMatchObject({ error: 'invalid_request' });
    expect((await clientRow(client.client_id))?.secret_hash).toBeNull();
    expect(await oauthEvents(tenant.id, 'oauth.client.secret_rotated')).toEqual([]);
  });
});

describe('client admin access', () => {
  it('needs clients:read to read and clients:write to write (403, nothing written)', async () => {
    const tenant = await makeTenant();
    const { client } = await registerClient(key, tenant);
    const reader = (await makeKey(operator, { scopes: ['clients:read'] })).key;
    const stranger = (await makeKey(operator, { scopes: ['users:read', 'users:write'] })).key;
    expect((await adminCall(reader, tenant, 'GET')).response.status).toBe(200);
    expect((await adminCall(reader, tenant, 'GET', `/${client.client_id}`)).response.status).toBe(
      200,
    );
    const writes = [
      ['POST', '', WEB_CLIENT],
      ['PATCH', `/${client.client_id}`, { name: 'x' }],
      ['DELETE', `/${client.client_id}`, undefined],
      ['POST', `/${client.client_id}/secret`, undefined],
    ] as const;
    for (const [method, rest, body] of writes) {
      const refused = await adminCall(reader, tenant, method, rest, body);
      expect(refused.response.status, `${method} ${rest}`).toBe(403);
      expect(await refused.json()).toMatchObject({
        error: 'insufficient_scope',
        scope: 'clients:write',
      });
    }
    const unread = await adminCall(stranger, tenant, 'GET');
    expect(unread.response.status).toBe(403);
    expect(await unread.json()).toMatchObject({ scope: 'clients:read' });
    expect(await clientCount(tenant.id)).toBe(1);
    expect(await clientRow(client.client_id)).toMatchObject({ name: 'Web app' });
  });

  it("keeps a key bound to tenant A out of tenant B's clients (the same 404 as no tenant)", async () => {
    const [a, b] = [await makeTenant(), await makeTenant()];
    const { client } = await registerClient(key, b);
    const boundToA = (await makeKey(operator, { tenant: a.slug })).key;
    expect((await adminCall(boundToA, a, 'GET')).response.status).toBe(200);
    for (const [method, rest, body] of [
      ['GET', '', undefined],
      ['POST', '', WEB_CLIENT],
      ['GET', `/${client.client_id}`, undefined],
      ['PATCH', `/${client.client_id}`, { name: 'x' }],
      ['DELETE', `/${client.client_id}`, undefined],
      ['POST', `/${client.client_id}/secret`, undefined],
    ] as const) {
      const refused = await adminCall(boundToA, b, method, rest, body);
      expect(refused.response.status, `${method} ${rest}`).toBe(404);
      expect(await refused.json()).toMatchObject({ error: 'unknown_tenant' });
    }
    // Nor through its own tenant's path: a client_id of B is not a client of A.
    const viaA = await adminCall(boundToA, a, 'GET', `/${client.client_id}`);
    expect(viaA.response.status).toBe(404);
    expect(await viaA.json()).toMatchObject({ error: 'not_found' });
    expect(await clientCount(b.id)).toBe(1);
    expect(await clientCount(a.id)).toBe(0);
  });

  it('lets an operator session manage clients too, Origin-checked', async () => {
    const tenant = await makeTenant();
    const foreign = await send(clientsPath(tenant), {
      method: 'POST',
      body: JSON.stringify(WEB_CLIENT),
      headers: {
        'Content-Type': 'application/json',
        Origin: 'https://evil.example',
        ...operator.jar.header(),
      },
    });
    expect(foreign.response.status).toBe(403);
    expect(await clientCount(tenant.id)).toBe(0);
    const own = await send(clientsPath(tenant), {
      method: 'POST',
      body: JSON.stringify(WEB_CLIENT),
      headers: { 'Content-Type': 'application/json', ...operator.jar.header() },
    });
    expect(own.response.status).toBe(201);
    const [event] = await oauthEvents(tenant.id, 'oauth.client.created');
    expect(event).toMatchObject({ actor_type: 'operator', actor_id: operator.id });
  });
});
