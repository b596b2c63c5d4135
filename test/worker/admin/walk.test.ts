// The walk: every admin route the app serves (read from the router itself, so routes added later
// are walked too) with no credential, a revoked key, an expired key, a key without scopes, and a
// key bound to another tenant; then malformed bodies. Never a 500, and nothing written.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.ts';
import type { Clock } from '../../../src/deps.ts';
import { hashToken } from '../../../src/lib/keys.ts';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import type { RateLimiter } from '../../../src/features/ratelimit/limiter.ts';
import { ADMIN, bearer, makeKey, makeOperator, type TestOperator } from './fixtures.ts';

const PUBLIC = new Set([
  'POST /admin/api/v1/bootstrap',
  'POST /admin/api/v1/auth/login',
  'POST /admin/api/v1/recover',
]);

interface Route {
  method: string;
  path: string;
}

function adminRoutes(): Route[] {
  const seen = new Map<string, Route>();
  for (const route of createApp().routes) {
    if (route.method === 'ALL' || !route.path.startsWith(ADMIN) || route.path.includes('*'))
      continue;
    seen.set(`${route.method} ${route.path}`, { method: route.method, path: route.path });
  }
  return [...seen.values()];
}

const routes = adminRoutes();
const privateRoutes = routes.filter((r) => !PUBLIC.has(`${r.method} ${r.path}`));
const tenantRoutes = privateRoutes.filter((r) => r.path.includes('/tenants/:slug'));
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

/** A concrete URL: the tenant's slug, and ids that name nothing. */
function url(route: Route, slug: string): string {
  return route.path.replace(':slug', slug).replace(/:[A-Za-z]+/g, NO_SUCH_ID);
}

/**
 * The walk sends hundreds of writes a minute with one key and one operator, far past admin.write
 * (60 a minute; proven in abuse/admin-limits.test.ts): here every counter allows.
 */
const allowAll: RateLimiter = {
  hit: async (requests) =>
    requests.map((request) => ({
      allowed: true,
      limit: request.limit,
      remaining: request.limit,
      resetAt: Date.now() + request.windowSeconds * 1000,
    })),
  claim: async (requests) => requests.map(() => false),
};
const UNLIMITED = { app: { overrideDeps: () => ({ rateLimiter: allowAll }) } };

let operator: TestOperator;
let mine: TestTenant;
let other: TestTenant;
const keys = { full: '', revoked: '', expired: '', scopeless: '', bound: '' };
const keyIds: string[] = [];
let expiredAt: Date;

beforeAll(async () => {
  operator = await makeOperator('owner');
  mine = await makeTenant();
  other = await makeTenant();
  const full = await makeKey(operator);
  keys.full = full.key;
  const revoked = await makeKey(operator);
  expect(
    (
      await send(`${ADMIN}/api-keys/${revoked.id}`, {
        method: 'DELETE',
        headers: operator.jar.header(),
      })
    ).response.status,
  ).toBe(200);
  keys.revoked = revoked.key;
  expiredAt = new Date(Date.now() + 3600_000);
  const expired = await makeKey(operator, { expires_at: expiredAt.toISOString() });
  keys.expired = expired.key;
  const bound = await makeKey(operator, { tenant: other.slug });
  keys.bound = bound.key;
  // No scope at all: the API refuses to mint one, so it is written directly.
  keys.scopeless = `ghk_${crypto.randomUUID().replace(/-/g, '')}${'x'.repeat(11)}`;
  const scopeless = await testDB().execute(sql`
    insert into api_keys (name, key_hash, key_prefix, scopes, created_by, created_at)
    values ('scopeless', ${await hashToken(keys.scopeless)}, 'ghk_', '{}'::text[], ${operator.id}::uuid, now()) returning id`);
  keyIds.push(full.id, revoked.id, expired.id, bound.id, String(scopeless.rows[0]!.id));
});

/** Everything an admin write would touch for this walk's operator, keys and tenants. */
async function snapshot(): Promise<Record<string, unknown>> {
  const result = await testDB().execute(sql`
    select
      (select count(*) from audit_events where actor_id in (${sql.join(
        [operator.id, ...keyIds].map((id) => sql`${id}`),
        sql`, `,
      )})) as audit,
      (select count(*) from tenants where id in (${mine.id}::uuid, ${other.id}::uuid)) as tenants,
      (select string_agg(name || updated_at::text || settings::text, ',') from tenants where id in (${mine.id}::uuid, ${other.id}::uuid)) as tenant_state,
      (select count(*) from users where tenant_id in (${mine.id}::uuid, ${other.id}::uuid)) as users,
      (select string_agg(kid || status, ',') from signing_keys where tenant_id in (${mine.id}::uuid, ${other.id}::uuid)) as keys,
      (select count(*) from api_keys where created_by = ${operator.id}::uuid) as api_keys,
      (select count(*) from api_keys where created_by = ${operator.id}::uuid and revoked_at is not null) as revoked_keys,
      (select count(*) from operator_sessions where operator_id = ${operator.id}::uuid and revoked_at is null) as sessions`);
  return result.rows[0]!;
}

async function expectStatus(
  route: Route,
  init: RequestInit,
  slug: string,
  status: number,
  code: string,
  options: SendOptions = {},
): Promise<void> {
  const sent = await send(url(route, slug), forMethod(route.method, init), options);
  const label = `${route.method} ${route.path}`;
  expect(sent.response.status, label).toBe(status);
  expect(await sent.json(), label).toMatchObject({ error: code });
}

/** The request for `method`: GET and HEAD carry no body. */
function forMethod(method: string, init: RequestInit): RequestInit {
  if (method !== 'GET' && method !== 'HEAD') return { method, ...init };
  const rest = { ...init };
  delete rest.body;
  return { method, ...rest };
}

function body(value: unknown, headers: Record<string, string>): RequestInit {
  return {
    body: JSON.stringify(value),
    headers: { 'Content-Type': 'application/json', ...headers },
  };
}

describe('the admin walk', () => {
  it('finds the admin routes in the router', () => {
    expect(privateRoutes.length).toBeGreaterThan(25);
    expect(tenantRoutes.length).toBeGreaterThan(15);
  });

  it('answers 401 without a credential, for every route', async () => {
    const before = await snapshot();
    for (const route of privateRoutes)
      await expectStatus(route, body({}, {}), mine.slug, 401, 'unauthorized');
    expect(await snapshot()).toEqual(before);
  });

  it('answers 401 invalid_token for a revoked key, an expired key and a made-up key', async () => {
    const before = await snapshot();
    const later: Clock = { now: () => new Date(expiredAt.getTime() + 1000) };
    for (const route of privateRoutes) {
      await expectStatus(route, body({}, bearer(keys.revoked)), mine.slug, 401, 'invalid_token');
      await expectStatus(route, body({}, bearer(keys.expired)), mine.slug, 401, 'invalid_token', {
        app: { overrideDeps: () => ({ clock: later }) },
      });
      await expectStatus(
        route,
        body({}, bearer(`ghk_${'Z'.repeat(43)}`)),
        mine.slug,
        401,
        'invalid_token',
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 403 for a key without the scope (insufficient_scope), or for operator-only routes (forbidden)', async () => {
    const before = await snapshot();
    for (const route of privateRoutes) {
      const sent = await send(
        url(route, mine.slug),
        forMethod(route.method, body({}, bearer(keys.scopeless))),
      );
      const label = `${route.method} ${route.path}`;
      expect(sent.response.status, label).toBe(403);
      expect((await sent.json<{ error: string }>()).error, label).toMatch(
        /^(insufficient_scope|forbidden)$/,
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 unknown_tenant for anything of another tenant to a key bound to one', async () => {
    const before = await snapshot();
    for (const route of tenantRoutes)
      await expectStatus(route, body({}, bearer(keys.bound)), mine.slug, 404, 'unknown_tenant');
    expect(await snapshot()).toEqual(before);
    const own = await send(`${ADMIN}/tenants/${other.slug}`, { headers: bearer(keys.bound) });
    expect(own.response.status).toBe(200);
    const list = await send(`${ADMIN}/tenants`, { headers: bearer(keys.bound) });
    expect(await list.json()).toMatchObject({ total: 1, items: [{ slug: other.slug }] });
  });

  it('never answers 500 to malformed bodies, and writes nothing', async () => {
    const before = await snapshot();
    const malformed: [string, RequestInit][] = [
      ['truncated JSON', { body: '{"name": ', headers: { 'Content-Type': 'application/json' } }],
      ['a JSON array', { body: '[1,2]', headers: { 'Content-Type': 'application/json' } }],
      [
        'a form body',
        { body: 'a=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      ],
      [
        'unknown fields',
        {
          body: JSON.stringify({ surprise: true, slug: 5, email: 7 }),
          headers: { 'Content-Type': 'application/json' },
        },
      ],
    ];
    // Logout reads no body (so a malformed one still signs out): it is walked by the other cases.
    const writes = privateRoutes.filter(
      (r) => r.method !== 'GET' && !r.path.endsWith('/auth/logout'),
    );
    for (const route of writes) {
      for (const [name, init] of malformed) {
        for (const credential of [bearer(keys.full), operator.jar.header()]) {
          const sent = await send(
            url(route, mine.slug),
            {
              method: route.method,
              ...init,
              headers: { ...(init.headers as Record<string, string>), ...credential },
            },
            UNLIMITED,
          );
          const label = `${route.method} ${route.path} with ${name}`;
          // Operator-only routes refuse keys before reading the body; the cookie walks them.
          if (sent.response.status === 403 && 'Authorization' in credential) continue;
          expect(sent.response.status, label).toBeGreaterThanOrEqual(400);
          expect(sent.response.status, label).toBeLessThan(500);
          if (!route.path.includes('/:') || route.path.endsWith('/:slug')) {
            // No id to miss: the body is what is refused.
            expect([400, 415], label).toContain(sent.response.status);
          }
        }
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('never answers 500 to bad query strings and bad path ids', async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1', 'unknown=1']) {
      for (const path of [
        `${ADMIN}/tenants`,
        `${ADMIN}/api-keys`,
        `${ADMIN}/tenants/${mine.slug}/users`,
      ]) {
        const sent = await send(`${path}?${query}`, { headers: operator.jar.header() });
        expect(sent.response.status, `${path}?${query}`).toBe(400);
      }
    }
    for (const path of [
      `${ADMIN}/tenants/NOT_A_SLUG`,
      `${ADMIN}/tenants/${mine.slug}/users/not-a-uuid`,
      `${ADMIN}/api-keys/1`,
    ]) {
      const method = path.includes('api-keys') ? 'DELETE' : 'GET';
      const sent = await send(path, { method, headers: operator.jar.header() });
      expect(sent.response.status, path).toBe(404);
    }
    const confirm = await send(
      `${ADMIN}/tenants/${mine.slug}`,
      jsonRequest('DELETE', { confirm: other.slug }, bearer(keys.full)),
    );
    expect(confirm.response.status).toBe(400);
    expect(await countTenants()).toBe(2);
  });
});

async function countTenants(): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from tenants where id in (${mine.id}::uuid, ${other.id}::uuid)`,
  );
  return Number(result.rows[0]!.n);
}
