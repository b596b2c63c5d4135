// Issue 17 items 1, 3 and 4: profile, export and erasure, against the real Worker and Postgres.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import { sealChain, verifyChain } from '../../../src/features/audit/service.ts';
import {
  CookieJar,
  makeTenant,
  testConfig,
  testDB,
  uniqueEmail,
  type TestTenant,
} from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';

const PASSWORD = 'correct horse battery';
// Each sign-up from its own address: the per-IP registration limit would refuse a run of them.
let nextHost = Math.floor(Math.random() * 200);
function client(): Record<string, string> {
  nextHost = (nextHost + 1) % 250;
  return { 'CF-Connecting-IP': `198.51.100.${nextHost + 1}`, 'User-Agent': 'privacy-test/1.0' };
}
const auditDeps = () => ({ db: testDB(), secretKey: testConfig().secretKey });

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await makeTenant();
});

/** The export's shape as these tests read it (its contract is userExportResponseSchema). */
type Row = Record<string, unknown>;
interface ExportBody {
  [section: string]: unknown;
  profile: Row;
  identities: Row[];
  sessions: Row[];
  passkeys: Row[];
  mfa: Row;
  organizations: Row[];
  roles: Row[];
  groups: Row[];
  attributes: Row[];
  audit_events: Array<Row & { type: string }>;
}

interface Account {
  jar: CookieJar;
  email: string;
  id: string;
  client: Record<string, string>;
}

async function signUp(): Promise<Account> {
  const email = uniqueEmail();
  const from = client();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest(
      'POST',
      { email, password: PASSWORD, name: 'Ada Example', organization_name: 'Ada Org' },
      from,
    ),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  const body = await sent.json<{ user: { id: string } }>();
  return { jar, email, id: body.user.id, client: from };
}

function later(seconds: number): SendOptions {
  const clock: Clock = { now: () => new Date(Date.now() + seconds * 1000) };
  return { app: { overrideDeps: () => ({ clock }) } };
}

/** Every row of every table in the schema that mentions `needle` anywhere in its text form. */
async function rowsMentioning(needle: string): Promise<string[]> {
  const tables = await testDB().execute(
    sql`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`,
  );
  const hits: string[] = [];
  for (const row of tables.rows) {
    const table = String(row.table_name);
    const found = await testDB().execute(
      sql`select count(*)::int as n from ${sql.identifier(table)} x where strpos(lower(x::text), ${needle.toLowerCase()}) > 0`,
    );
    if (Number(found.rows[0]?.n) > 0) hits.push(table);
  }
  return hits;
}

describe('profile: GET and PATCH /v1/auth/me', () => {
  it('reads and changes name, locale and zoneinfo in two round trips each, and audits the change', async () => {
    const account = await signUp();
    const read = await send(`${tenant.base}/v1/auth/me`, { headers: account.jar.header() });
    expect(read.response.status).toBe(200);
    expect(await read.roundTrips()).toBe(2);
    expect((await read.json<{ user: unknown }>()).user).toMatchObject({
      id: account.id,
      email: account.email,
      name: 'Ada Example',
      locale: null,
      zoneinfo: null,
    });
    const patched = await send(
      `${tenant.base}/v1/auth/me`,
      jsonRequest(
        'PATCH',
        { name: 'Ada L.', locale: 'fr-CA', zoneinfo: 'America/Toronto' },
        account.jar.header(),
      ),
    );
    expect(patched.response.status).toBe(200);
    expect(await patched.roundTrips()).toBe(2);
    expect((await patched.json<{ user: unknown }>()).user).toMatchObject({
      name: 'Ada L.',
      locale: 'fr-CA',
      zoneinfo: 'America/Toronto',
    });
    const events = await testDB().execute(
      sql`select details from audit_events where type = 'security.profile.updated' and target_id = ${account.id}`,
    );
    expect(events.rows.map((r) => r.details)).toEqual([{ fields: ['name', 'locale', 'zoneinfo'] }]);
    // null clears one field and leaves the others.
    const cleared = await send(
      `${tenant.base}/v1/auth/me`,
      jsonRequest('PATCH', { locale: null }, account.jar.header()),
    );
    expect((await cleared.json<{ user: unknown }>()).user).toMatchObject({
      name: 'Ada L.',
      locale: null,
      zoneinfo: 'America/Toronto',
    });
  });

  it('refuses a bad time zone, a bad locale and unknown fields with 400, writing nothing', async () => {
    const account = await signUp();
    for (const body of [
      { zoneinfo: 'Mars/Olympus_Mons' },
      { locale: 'not a locale!' },
      { email: 'other@example.com' },
      { name: '' },
    ]) {
      const sent = await send(
        `${tenant.base}/v1/auth/me`,
        jsonRequest('PATCH', body, account.jar.header()),
      );
      expect(sent.response.status, JSON.stringify(body)).toBe(400);
      expect((await sent.json<{ error: string }>()).error).toBe('invalid_request');
    }
    const row = await testDB().execute(
      sql`select name, locale, zoneinfo from users where id = ${account.id}::uuid`,
    );
    expect(row.rows[0]).toMatchObject({ name: 'Ada Example', locale: null, zoneinfo: null });
  });

  it('answers 401 without a session', async () => {
    expect((await send(`${tenant.base}/v1/auth/me`)).response.status).toBe(401);
  });
});

describe('export: GET /v1/auth/me/export', () => {
  it('returns profile, identities, sessions, MFA, organizations and audit events, field by field', async () => {
    const account = await signUp();
    const sent = await send(`${tenant.base}/v1/auth/me/export`, {
      headers: { ...account.jar.header(), ...account.client },
    });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2);
    expect(sent.response.headers.get('Cache-Control')).toBe('no-store');
    const data = await sent.json<ExportBody>();
    expect(Object.keys(data).sort()).toEqual(
      [
        'attributes',
        'audit_events',
        'exported_at',
        'groups',
        'identities',
        'mfa',
        'organizations',
        'passkeys',
        'profile',
        'roles',
        'sessions',
      ].sort(),
    );
    expect(data.profile).toMatchObject({
      id: account.id,
      email: account.email,
      email_verified: false,
      name: 'Ada Example',
      locale: null,
      zoneinfo: null,
      has_password: true,
      disabled_at: null,
    });
    expect(data.identities).toEqual([
      expect.objectContaining({ provider: 'email', subject: account.email, has_password: true }),
    ]);
    expect(data.sessions).toHaveLength(1);
    expect(data.sessions[0]).toMatchObject({
      ip: account.client['CF-Connecting-IP'],
      user_agent: 'privacy-test/1.0',
      revoked_at: null,
      amr: ['pwd'],
    });
    expect(data.passkeys).toEqual([]);
    expect(data.mfa).toEqual({ totp: null, recovery_codes: { total: 0, unused: 0 } });
    expect(data.organizations).toEqual([
      expect.objectContaining({ name: 'Ada Org', role: 'owner' }),
    ]);
    expect(data.roles).toEqual([]);
    expect(data.groups).toEqual([]);
    expect(data.attributes).toEqual([]);
    expect(data.audit_events.map((e: { type: string }) => e.type)).toContain(
      'security.user.registered',
    );
    const registered = data.audit_events.find(
      (e: { type: string }) => e.type === 'security.user.registered',
    );
    expect(registered).toMatchObject({
      ip: account.client['CF-Connecting-IP'],
      user_agent: 'privacy-test/1.0',
    });
    // No secret travels: no hash of a password, token or code.
    const text = JSON.stringify(data);
    expect(text).not.toMatch(/password_hash|token_hash|code_hash|secret/);
  });

  it('refuses a sign-in older than 5 minutes with 403 reauthentication_required', async () => {
    const account = await signUp();
    const stale = await send(
      `${tenant.base}/v1/auth/me/export`,
      { headers: account.jar.header() },
      later(301),
    );
    expect(stale.response.status).toBe(403);
    expect((await stale.json<{ error: string }>()).error).toBe('reauthentication_required');
    const fresh = await send(
      `${tenant.base}/v1/auth/me/export`,
      { headers: account.jar.header() },
      later(299),
    );
    expect(fresh.response.status).toBe(200);
  });
});

describe('erasure: DELETE /v1/auth/me', () => {
  it('leaves no row with the user id or email, and the audit chain still verifies', async () => {
    const account = await signUp();
    // A second session, revoked: more events naming the user, with IP and user agent.
    const other = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: account.email, password: PASSWORD }, account.client),
    );
    expect(other.response.status).toBe(200);
    await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
      method: 'POST',
      headers: { ...account.jar.header(), ...account.client },
    });
    // Some of the user's events are sealed (v2 links) before the erasure, some are not yet.
    await sealChain(auditDeps(), tenant.id);
    await send(
      `${tenant.base}/v1/auth/me`,
      jsonRequest('PATCH', { name: 'Unsealed' }, { ...account.jar.header(), ...account.client }),
    );
    expect(await rowsMentioning(account.id)).toContain('audit_events');

    const erased = await send(`${tenant.base}/v1/auth/me`, {
      method: 'DELETE',
      headers: { ...account.jar.header(), ...account.client },
    });
    expect(erased.response.status).toBe(200);
    expect(await erased.roundTrips()).toBe(2);
    const body = await erased.json<{ status: string; audit_events_scrubbed: number }>();
    expect(body.status).toBe('erased');
    expect(body.audit_events_scrubbed).toBeGreaterThanOrEqual(4);
    expect(erased.response.headers.get('Set-Cookie')).toMatch(/Max-Age=0/);

    expect(await rowsMentioning(account.id)).toEqual([]);
    expect(await rowsMentioning(account.email)).toEqual([]);

    // The erasure is audited, with no personal data.
    const erasure = await testDB().execute(
      sql`select * from audit_events where tenant_id = ${tenant.id}::uuid and type = 'security.user.erased' and request_id = ${erased.requestId}`,
    );
    expect(erasure.rows).toHaveLength(1);
    expect(erasure.rows[0]).toMatchObject({
      actor_type: 'user',
      actor_id: null,
      target_type: 'user',
      target_id: null,
      ip: null,
      user_agent: null,
      details: {},
    });
    await sealChain(auditDeps(), tenant.id);
    const verified = await verifyChain(auditDeps(), tenant.id);
    expect(verified).toMatchObject({ ok: true, unsealed: 0 });

    // The cookie no longer works.
    expect(
      (await send(`${tenant.base}/v1/auth/me`, { headers: account.jar.header() })).response.status,
    ).toBe(401);
  });

  it('refuses a sign-in older than 5 minutes and erases nothing', async () => {
    const account = await signUp();
    const stale = await send(
      `${tenant.base}/v1/auth/me`,
      { method: 'DELETE', headers: account.jar.header() },
      later(301),
    );
    expect(stale.response.status).toBe(403);
    expect((await stale.json<{ error: string }>()).error).toBe('reauthentication_required');
    const left = await testDB().execute(
      sql`select count(*)::int as n from users where id = ${account.id}::uuid`,
    );
    expect(left.rows[0]?.n).toBe(1);
  });
});

describe('the chain after erasure: v2 links cover personal fields through a commitment', () => {
  it('detects an edited IP on a sealed event, and a partial scrub, but accepts a full erasure', async () => {
    const own = await makeTenant();
    const sent = await send(
      `${own.base}/v1/auth/register`,
      jsonRequest(
        'POST',
        { email: uniqueEmail(), password: PASSWORD },
        { 'CF-Connecting-IP': '198.51.100.77', 'User-Agent': 'privacy-test/1.0' },
      ),
    );
    const userId = (await sent.json<{ user: { id: string } }>()).user.id;
    await sealChain(auditDeps(), own.id);
    const where = sql`tenant_id = ${own.id}::uuid and type = 'security.user.registered'`;
    const db = testDB();
    const [row] = (await db.execute(sql`select * from audit_events where ${where}`)).rows;
    expect(row).toMatchObject({ link_version: 2, ip: '198.51.100.77', target_id: userId });
    expect(String(row!.personal_salt)).toMatch(/^[A-Za-z0-9_-]{22}$/);

    await db.execute(sql`update audit_events set ip = '203.0.113.9' where ${where}`);
    expect(await verifyChain(auditDeps(), own.id)).toMatchObject({ ok: false, problem: 'edited' });
    // Only some personal fields removed: still an edit.
    await db.execute(sql`update audit_events set ip = null where ${where}`);
    expect(await verifyChain(auditDeps(), own.id)).toMatchObject({ ok: false, problem: 'edited' });
    // A changed non-personal field: an edit, whatever the personal fields.
    await db.execute(
      sql`update audit_events set ip = '198.51.100.77', type = 'security.user.other' where ${where}`,
    );
    expect(await verifyChain(auditDeps(), own.id)).toMatchObject({ ok: false, problem: 'edited' });
    await db.execute(
      sql`update audit_events set type = 'security.user.registered' where tenant_id = ${own.id}::uuid and type = 'security.user.other'`,
    );
    expect(await verifyChain(auditDeps(), own.id)).toMatchObject({ ok: true });
  });
});

describe('admin twins: export and erase', () => {
  it('exports a user and erases them with the same erasure, two round trips each (the key check, then one statement)', async () => {
    const operator = await makeOperator();
    const { key } = await makeKey(operator);
    const account = await signUp();
    const exported = await send(`${ADMIN}/tenants/${tenant.slug}/users/${account.id}/export`, {
      headers: bearer(key),
    });
    expect(exported.response.status).toBe(200);
    expect(await exported.roundTrips()).toBe(2);
    const data = await exported.json<ExportBody>();
    expect(data.profile).toMatchObject({ id: account.id, email: account.email });
    expect(data.sessions).toHaveLength(1);

    const erased = await send(`${ADMIN}/tenants/${tenant.slug}/users/${account.id}`, {
      method: 'DELETE',
      headers: { ...bearer(key), ...account.client },
    });
    expect(erased.response.status).toBe(200);
    expect(await erased.roundTrips()).toBe(2);
    expect(await rowsMentioning(account.id)).toEqual([]);
    expect(await rowsMentioning(account.email)).toEqual([]);
    const event = await testDB().execute(
      sql`select * from audit_events where request_id = ${erased.requestId} and type = 'admin.user.deleted'`,
    );
    expect(event.rows[0]).toMatchObject({ actor_type: 'api_key', target_id: null, ip: null });

    const again = await send(`${ADMIN}/tenants/${tenant.slug}/users/${account.id}/export`, {
      headers: bearer(key),
    });
    expect(again.response.status).toBe(404);
    expect((await again.json<{ error: string }>()).error).toBe('not_found');
    const noTenant = await send(`${ADMIN}/tenants/no-such-tenant-x/users/${account.id}`, {
      method: 'DELETE',
      headers: bearer(key),
    });
    expect(noTenant.response.status).toBe(404);
    expect((await noTenant.json<{ error: string }>()).error).toBe('unknown_tenant');
    await sealChain(auditDeps(), tenant.id);
    expect(await verifyChain(auditDeps(), tenant.id)).toMatchObject({ ok: true });
  });
});
