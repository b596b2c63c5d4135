// The console's API keys section: the list's round-trip budget, create through the API's service
// (key shown once, only its hash stored, audited), a bad form as a 400 page with nothing written,
// and revoke (the key stops authenticating).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, testDB } from '../fixtures.ts';
import { send } from '../harness.ts';
import { openPage, submit } from '../pages/helpers.ts';
import {
  ADMIN,
  bearer,
  countRows,
  makeKey,
  makeOperator,
  type TestOperator,
} from '../admin/fixtures.ts';

let operator: TestOperator;
let jar: CookieJar;

async function csrfOf(path: string): Promise<string> {
  const page = await openPage(path, jar);
  expect(page.sent.response.status).toBe(200);
  return page.csrf;
}

beforeAll(async () => {
  operator = await makeOperator();
  jar = new CookieJar();
  const csrf = (await openPage('/admin/login', jar)).csrf;
  const sent = await submit(
    '/admin/login',
    { csrf_token: csrf, email: operator.email, password: operator.password },
    jar,
  );
  expect(sent.response.status).toBe(303);
  jar.store(sent.response);
});

describe('console API keys', () => {
  it('lists keys in two round trips (session, page of keys with its total)', async () => {
    // An empty page counts its total apart (a third trip); with one key there is a row to carry it.
    await makeKey(operator, { scopes: ['audit:read'] });
    const sent = await send('/admin/api-keys', { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    const body = await sent.response.text();
    expect(body).toContain('Create an API key');
    expect(body).toContain('aria-current="page"');
    expect(await sent.roundTrips()).toBe(2);
  });

  it('creates a key with the checked scopes: shown once, hashed, audited; it then works', async () => {
    const name = `console-key-${crypto.randomUUID().slice(0, 8)}`;
    const csrf = await csrfOf('/admin/api-keys');
    const sent = await submit(
      '/admin/api-keys',
      { csrf_token: csrf, name, 'scope_metrics:read': 'on', tenant: '', expires_at: '' },
      jar,
    );
    expect(sent.response.status).toBe(201);
    expect(sent.response.headers.get('Cache-Control')).toBe('no-store');
    const key = /ghk_[A-Za-z0-9_-]{43}/.exec(await sent.response.text())?.[0];
    expect(key).toBeDefined();
    const stored = await testDB().execute(sql`
      select scopes::text as scopes, key_hash from api_keys where name = ${name}`);
    expect(stored.rows).toHaveLength(1);
    expect(String(stored.rows[0]!.scopes)).toContain('metrics:read');
    expect(String(stored.rows[0]!.scopes)).not.toContain('users:read');
    expect(JSON.stringify(stored.rows[0])).not.toContain(key!.slice(4));
    expect(
      await countRows(
        'audit_events',
        sql`type = 'admin.api_key.created' and actor_id = ${operator.id}`,
      ),
    ).toBeGreaterThanOrEqual(1);
    // The key is shown on that response only: the list shows its prefix, not the key. The list is
    // oldest first and the database is shared with other files' keys: open the page holding it.
    const before = await countRows(
      'api_keys',
      sql`(created_at, id) < (select created_at, id from api_keys where name = ${name})`,
    );
    const list = await send(`/admin/api-keys?offset=${before}&limit=10`, {
      headers: jar.header(),
    });
    const listed = await list.response.text();
    expect(listed).toContain(name);
    expect(listed).not.toContain(key!);
    const metrics = await send(`${ADMIN}/metrics`, { headers: bearer(key!) });
    expect(metrics.response.status).toBe(200);
  });

  it('answers a form without scopes or with a bad expiry with a 400 page, writing nothing', async () => {
    const name = `console-bad-${crypto.randomUUID().slice(0, 8)}`;
    const csrf = await csrfOf('/admin/api-keys');
    const noScopes = await submit('/admin/api-keys', { csrf_token: csrf, name }, jar);
    expect(noScopes.response.status).toBe(400);
    expect(await noScopes.response.text()).toContain('There is a problem');
    const badExpiry = await submit(
      '/admin/api-keys',
      { csrf_token: csrf, name, 'scope_audit:read': 'on', expires_at: 'next tuesday' },
      jar,
    );
    expect(badExpiry.response.status).toBe(400);
    expect(await badExpiry.response.text()).toContain('aria-invalid="true"');
    expect(await countRows('api_keys', sql`name = ${name}`)).toBe(0);
  });

  it('refuses a create without the CSRF token (403), writing nothing', async () => {
    const name = `console-csrf-${crypto.randomUUID().slice(0, 8)}`;
    await csrfOf('/admin/api-keys');
    const sent = await submit('/admin/api-keys', { name, 'scope_audit:read': 'on' }, jar);
    expect(sent.response.status).toBe(403);
    expect(await countRows('api_keys', sql`name = ${name}`)).toBe(0);
  });

  it('revokes a key (audited): it no longer authenticates', async () => {
    const name = `console-rev-${crypto.randomUUID().slice(0, 8)}`;
    let csrf = await csrfOf('/admin/api-keys');
    const created = await submit(
      '/admin/api-keys',
      { csrf_token: csrf, name, 'scope_metrics:read': 'on' },
      jar,
    );
    expect(created.response.status).toBe(201);
    const key = /ghk_[A-Za-z0-9_-]{43}/.exec(await created.response.text())![0];
    const row = await testDB().execute(sql`select id from api_keys where name = ${name}`);
    const id = String(row.rows[0]!.id);
    csrf = await csrfOf('/admin/api-keys');
    const revoked = await submit(`/admin/api-keys/${id}/revoke`, { csrf_token: csrf }, jar);
    expect(revoked.response.status).toBe(303);
    expect(revoked.response.headers.get('Location')).toBe('/admin/api-keys?done=api_key_revoked');
    expect(await countRows('api_keys', sql`id = ${id}::uuid and revoked_at is not null`)).toBe(1);
    expect(
      await countRows('audit_events', sql`type = 'admin.api_key.revoked' and target_id = ${id}`),
    ).toBe(1);
    const refused = await send(`${ADMIN}/metrics`, { headers: bearer(key) });
    expect(refused.response.status).toBe(401);
  });
});
