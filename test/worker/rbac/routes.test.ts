// The RBAC admin routes over HTTP with real API keys: the contract (status, snake_case bodies,
// pagination envelope), scopes, tenant binding, bad input (4xx, nothing written, never a 500),
// audit events naming the key, round trips, and the OpenAPI entries in step with the router.
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { openAPIPath } from '../../../src/http/openapi.ts';
import { rbacDocs, rbacRoutes } from '../../../src/features/rbac/routes.ts';
import { ADMIN, bearer, makeKey, makeOperator, type TestOperator } from '../admin/fixtures.ts';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { auditEvents, count, signedUp } from './fixtures.ts';

let operator: TestOperator;
let tenant: TestTenant;
let key: { key: string; id: string };

beforeAll(async () => {
  operator = await makeOperator();
  tenant = await makeTenant();
  key = await makeKey(operator);
});

const at = (path: string) => `${ADMIN}/tenants/${tenant.slug}${path}`;
const call = (path: string, init: RequestInit = {}, credential = key.key) =>
  send(at(path), {
    ...init,
    headers: { ...bearer(credential), ...(init.headers as Record<string, string>) },
  });
const write = (method: string, path: string, body: unknown, credential = key.key) =>
  send(at(path), jsonRequest(method, body, bearer(credential)));

describe('RBAC admin routes', () => {
  it('build roles, a group hierarchy, attributes and a claim mapper that the next access token reflects', async () => {
    const role = await write('POST', '/roles', { name: 'auditor', description: 'reads the books' });
    expect(role.response.status).toBe(201);
    const { role: created } = await role.json<{
      role: { id: string; name: string; created_at: string };
    }>();
    expect(created).toMatchObject({ name: 'auditor', description: 'reads the books' });
    expect(await role.roundTrips()).toBeLessThanOrEqual(2);

    const finance = (
      await (await write('POST', '/groups', { name: 'Finance' })).json<{ group: { id: string } }>()
    ).group;
    const payroll = await write('POST', '/groups', { name: 'Payroll', parent_id: finance.id });
    expect(payroll.response.status).toBe(201);
    const child = (await payroll.json<{ group: { id: string; parent_id: string } }>()).group;
    expect(child.parent_id).toBe(finance.id);
    expect(
      (await call(`/groups/${finance.id}/roles/${created.id}`, { method: 'PUT' })).response.status,
    ).toBe(200);

    const { jar, userId } = await signedUp(tenant);
    expect(
      (await call(`/groups/${child.id}/members/${userId}`, { method: 'PUT' })).response.status,
    ).toBe(200);
    const attribute = await write('PUT', `/users/${userId}/attributes/region`, { value: 'EMEA' });
    expect(await attribute.json()).toEqual({ key: 'region', value: 'EMEA' });
    const mapper = await write('POST', '/claim-mappers', {
      attribute_key: 'region',
      claim_name: 'region',
    });
    expect(mapper.response.status).toBe(201);
    expect(await mapper.json()).toMatchObject({
      claim_mapper: { access_token: true, id_token: false },
    });

    const roles = await call(`/users/${userId}/roles`);
    expect(await roles.json()).toEqual({
      roles: [],
      effective_roles: ['auditor'],
      token_claims: { region: 'EMEA' },
    });

    const tokens = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, jar.header()),
    );
    const claims = decodeJwt((await tokens.json<{ access_token: string }>()).access_token);
    expect(claims).toMatchObject({ roles: ['auditor'], region: 'EMEA' });
  });

  it('list with a stable order, totals and the page envelope', async () => {
    const own = await makeTenant();
    const path = `${ADMIN}/tenants/${own.slug}/roles`;
    const names = ['one', 'two', 'three'];
    for (const name of names) {
      expect(
        (await send(path, jsonRequest('POST', { name }, bearer(key.key)))).response.status,
      ).toBe(201);
    }
    const first = await (
      await send(`${path}?limit=2`, { headers: bearer(key.key) })
    ).json<{ items: { name: string }[] }>();
    const second = await (
      await send(`${path}?limit=2&offset=2`, { headers: bearer(key.key) })
    ).json();
    expect(first).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(second).toMatchObject({ total: 3, limit: 2, offset: 2 });
    expect(
      [...first.items, ...(second as { items: { name: string }[] }).items].map((r) => r.name),
    ).toEqual(names);
    const bad = await send(`${path}?limit=0`, { headers: bearer(key.key) });
    expect(bad.response.status).toBe(400);
  });

  it('need users:write for role writes and tenants:write for claim mappers (403, nothing written)', async () => {
    const own = await makeTenant();
    const reader = await makeKey(operator, { scopes: ['users:read'] });
    const userAdmin = await makeKey(operator, { scopes: ['users:read', 'users:write'] });
    const base = `${ADMIN}/tenants/${own.slug}`;
    const refused = await send(
      `${base}/roles`,
      jsonRequest('POST', { name: 'x' }, bearer(reader.key)),
    );
    expect(refused.response.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'insufficient_scope' });
    expect((await send(`${base}/roles`, { headers: bearer(reader.key) })).response.status).toBe(
      200,
    );
    const mapper = await send(
      `${base}/claim-mappers`,
      jsonRequest('POST', { attribute_key: 'a', claim_name: 'a' }, bearer(userAdmin.key)),
    );
    expect(mapper.response.status).toBe(403);
    expect(
      (await send(`${base}/claim-mappers`, { headers: bearer(userAdmin.key) })).response.status,
    ).toBe(403);
    expect(await count('roles', own.id)).toBe(0);
    expect(await count('claim_mappers', own.id)).toBe(0);
  });

  it('answer 404 to a key bound to another tenant, for reads and writes alike', async () => {
    const mine = await makeTenant();
    const bound = await makeKey(operator, { tenant: mine.slug });
    const role = await (
      await write('POST', '/roles', { name: `bound-${Date.now()}` })
    ).json<{ role: { id: string } }>();
    for (const [method, path] of [
      ['GET', '/roles'],
      ['GET', `/roles/${role.role.id}`],
      ['DELETE', `/roles/${role.role.id}`],
      ['GET', '/organizations'],
    ] as const) {
      const sent = await call(path, { method }, bound.key);
      expect(sent.response.status, `${method} ${path}`).toBe(404);
    }
    expect(
      (await send(`${ADMIN}/tenants/${mine.slug}/roles`, { headers: bearer(bound.key) })).response
        .status,
    ).toBe(200);
    expect((await call(`/roles/${role.role.id}`)).response.status).toBe(200);
  });

  it('refuse bad input with 4xx and write nothing: never a 500', async () => {
    const own = await makeTenant();
    const base = `${ADMIN}/tenants/${own.slug}`;
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/roles', { name: 'has space' }, 400, 'invalid_request'],
      ['POST', '/roles', { name: 'ok', extra: true }, 400, 'invalid_request'],
      ['POST', '/roles', [], 400, 'invalid_request'],
      ['POST', '/groups', { name: '' }, 400, 'invalid_request'],
      ['POST', '/groups', { name: 'g', parent_id: 'not-a-uuid' }, 400, 'invalid_request'],
      ['POST', '/groups', { name: 'g', parent_id: crypto.randomUUID() }, 400, 'invalid_request'],
      [
        'POST',
        '/claim-mappers',
        { attribute_key: 'dept', claim_name: 'sub' },
        400,
        'reserved_claim',
      ],
      [
        'POST',
        '/claim-mappers',
        { attribute_key: 'dept', claim_name: 'email_verified' },
        400,
        'reserved_claim',
      ],
      [
        'POST',
        '/claim-mappers',
        { attribute_key: 'Dept', claim_name: 'dept' },
        400,
        'invalid_request',
      ],
      [
        'POST',
        '/claim-mappers',
        { attribute_key: 'dept', claim_name: 'dept', access_token: false },
        400,
        'invalid_request',
      ],
      ['POST', '/organizations', { name: 42 }, 400, 'invalid_request'],
      ['PATCH', `/roles/${crypto.randomUUID()}`, {}, 400, 'invalid_request'],
      ['GET', '/roles/not-a-uuid', undefined, 404, 'not_found'],
      [
        'PUT',
        `/users/${crypto.randomUUID()}/roles/${crypto.randomUUID()}`,
        undefined,
        404,
        'not_found',
      ],
      ['PUT', `/users/${crypto.randomUUID()}/attributes/dept`, { value: 'x' }, 404, 'not_found'],
      [
        'PUT',
        `/users/${crypto.randomUUID()}/attributes/dept`,
        { value: 'x'.repeat(1025) },
        400,
        'invalid_request',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const init =
        body === undefined
          ? { method, headers: bearer(key.key) }
          : jsonRequest(method, body, bearer(key.key));
      const sent = await send(`${base}${path}`, init);
      expect(sent.response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(await sent.json(), `${method} ${path}`).toMatchObject({ error: code });
    }
    const malformed = await send(`${base}/roles`, {
      method: 'POST',
      body: '{"name":',
      headers: { ...bearer(key.key), 'Content-Type': 'application/json' },
    });
    expect(malformed.response.status).toBe(400);
    for (const table of ['roles', 'tenant_groups', 'claim_mappers', 'user_attributes'])
      expect(await count(table, own.id), table).toBe(0);
    const orgs = await send(`${base}/organizations`, { headers: bearer(key.key) });
    expect(await orgs.json()).toMatchObject({ total: 0 });
  });

  it('refuse a group move that would close a cycle with 409 group_cycle', async () => {
    const top = (
      await (
        await write('POST', '/groups', { name: `top-${Date.now()}` })
      ).json<{ group: { id: string } }>()
    ).group;
    const mid = (
      await (
        await write('POST', '/groups', { name: `mid-${Date.now()}`, parent_id: top.id })
      ).json<{ group: { id: string } }>()
    ).group;
    const moved = await write('PATCH', `/groups/${top.id}`, { parent_id: mid.id });
    expect(moved.response.status).toBe(409);
    expect(await moved.json()).toMatchObject({ error: 'group_cycle' });
    expect(await (await call(`/groups/${top.id}`)).json()).toMatchObject({
      group: { parent_id: null },
    });
  });

  it('record each write as an admin.* event naming the API key, in the write’s own round trip', async () => {
    const own = await makeTenant();
    const sent = await send(
      `${ADMIN}/tenants/${own.slug}/organizations`,
      jsonRequest(
        'POST',
        { name: 'Globex' },
        { ...bearer(key.key), 'CF-Connecting-IP': '203.0.113.9' },
      ),
    );
    expect(sent.response.status).toBe(201);
    const { organization } = await sent.json<{
      organization: { id: string; member_count: number };
    }>();
    expect(organization.member_count).toBe(0);
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2); // the key's check, then the write with its event
    const events = await auditEvents(own.id, 'admin.organization.created');
    expect(events).toEqual([
      expect.objectContaining({
        actor_type: 'api_key',
        actor_id: key.id,
        target_type: 'organization',
        ip: '203.0.113.9',
        target_id: organization.id,
      }),
    ]);
    const { userId } = await signedUp(own);
    const member = await send(
      `${ADMIN}/tenants/${own.slug}/organizations/${organization.id}/members`,
      jsonRequest('POST', { user_id: userId, role: 'billing' }, bearer(key.key)),
    );
    expect(member.response.status).toBe(201);
    expect(await member.json()).toMatchObject({ member: { user_id: userId, role: 'billing' } });
    const patched = await send(
      `${ADMIN}/tenants/${own.slug}/organizations/${organization.id}/members/${userId}`,
      jsonRequest('PATCH', { role: 'admin' }, bearer(key.key)),
    );
    expect(await patched.json()).toMatchObject({ member: { role: 'admin' } });
    expect(await auditEvents(own.id, 'admin.membership.updated')).toHaveLength(1);
  });

  it('are documented exactly: every route has an OpenAPI entry and every entry a route', () => {
    const served = new Set(
      rbacRoutes.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${ADMIN}${openAPIPath(r.path)}`),
    );
    const documented = new Set(rbacDocs.map((d) => `${d.method} ${openAPIPath(d.path)}`));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    expect(served.size).toBe(37);
  });
});
