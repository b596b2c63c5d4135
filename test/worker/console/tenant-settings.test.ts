// The console's tenant page: main settings, CORS origins and hostnames saved through the admin
// API's update service (audited), a bad value refused as a 400 page that writes nothing, key
// rotation through the API's rotate service, and the page's SQL round-trip budget.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, testDB, uniqueSlug } from '../fixtures.ts';
import { send } from '../harness.ts';
import { openPage, submit } from '../pages/helpers.ts';
import { countRows, makeOperator, type TestOperator } from '../admin/fixtures.ts';

let operator: TestOperator;
let jar: CookieJar;
let slug: string;

async function csrfOf(path: string): Promise<string> {
  const page = await openPage(path, jar);
  expect(page.sent.response.status).toBe(200);
  return page.csrf;
}

/** Every field of the settings form, as the page pre-fills it for a new tenant. */
function settingsFields(csrf: string, overrides: Record<string, string> = {}) {
  return {
    csrf_token: csrf,
    name: 'Renamed tenant',
    registration_enabled: 'on',
    session_idle_ttl_seconds: '3600',
    session_absolute_ttl_seconds: '86400',
    access_token_ttl_seconds: '300',
    refresh_token_ttl_seconds: '86400',
    cookie_same_site: 'Strict',
    signing_algorithm: 'ES256',
    mfa_policy: 'required_for_admins',
    // Two lines each, as a browser submits a textarea (CRLF).
    mfa_admin_roles: 'owner\r\nadmin',
    cors_origins: 'https://app.example.com\r\nhttps://other.example.com',
    hostnames: `${slug}.auth.example.com`,
    ...overrides,
  };
}

async function tenantRow() {
  const result = await testDB().execute(sql`
    select id, name, settings, cors_origins from tenants where slug = ${slug}`);
  return result.rows[0] as {
    id: string;
    name: string;
    settings: Record<string, unknown>;
    cors_origins: string[];
  };
}

beforeAll(async () => {
  operator = await makeOperator();
  jar = new CookieJar();
  const login = await openPage('/admin/login', jar);
  const signedIn = await submit(
    '/admin/login',
    { csrf_token: login.csrf, email: operator.email, password: operator.password },
    jar,
  );
  expect(signedIn.response.status).toBe(303);
  jar.store(signedIn.response);
  slug = uniqueSlug('cts');
  const created = await submit(
    '/admin/tenants',
    { csrf_token: await csrfOf('/admin/tenants'), slug, name: 'Settings tenant' },
    jar,
  );
  expect(created.response.status).toBe(303);
});

describe('console tenant settings', () => {
  it('shows the settings form pre-filled and the keys in three round trips', async () => {
    const page = await send(`/admin/tenants/${slug}`, { headers: jar.header() });
    expect(page.response.status).toBe(200);
    const body = await page.response.text();
    expect(body).toContain(`action="/admin/tenants/${slug}/settings"`);
    expect(body).toMatch(/id="registration_enabled"[^>]*checked/);
    expect(body).toContain('<option value="Lax" selected>');
    expect(body).toContain(`action="/admin/tenants/${slug}/signing-keys/rotate"`);
    expect(await page.roundTrips()).toBe(3);
  });

  it('saves settings, CORS origins and hostnames through the API service, audited', async () => {
    const csrf = await csrfOf(`/admin/tenants/${slug}`);
    const saved = await submit(`/admin/tenants/${slug}/settings`, settingsFields(csrf), jar);
    expect(saved.response.status).toBe(303);
    expect(saved.response.headers.get('Location')).toBe(
      `/admin/tenants/${slug}?done=settings_saved`,
    );
    const row = await tenantRow();
    expect(row.name).toBe('Renamed tenant');
    expect(row.settings).toMatchObject({
      registrationEnabled: true,
      emailVerificationRequired: false,
      sessionIdleTTLSeconds: 3600,
      accessTokenTTLSeconds: 300,
      cookieSameSite: 'Strict',
      mfa: { policy: 'required_for_admins', adminRoles: ['owner', 'admin'] },
    });
    expect(row.cors_origins).toEqual(['https://app.example.com', 'https://other.example.com']);
    expect(await countRows('tenant_hostnames', sql`hostname = ${`${slug}.auth.example.com`}`)).toBe(
      1,
    );
    expect(
      await countRows(
        'audit_events',
        sql`tenant_id = ${row.id} and type = 'admin.tenant.updated' and actor_id = ${operator.id}`,
      ),
    ).toBeGreaterThanOrEqual(1);
    const page = await send(`/admin/tenants/${slug}?done=settings_saved`, {
      headers: jar.header(),
    });
    const body = await page.response.text();
    expect(body).toContain('Settings saved.');
    expect(body).toContain('<option value="Strict" selected>');
  });

  it('refuses a TTL below the API bound with a 400 page naming the field, and writes nothing', async () => {
    const before = await tenantRow();
    const csrf = await csrfOf(`/admin/tenants/${slug}`);
    const sent = await submit(
      `/admin/tenants/${slug}/settings`,
      settingsFields(csrf, { name: 'Never stored', access_token_ttl_seconds: '5' }),
      jar,
    );
    expect(sent.response.status).toBe(400);
    const body = await sent.response.text();
    expect(body).toContain('href="#access_token_ttl_seconds"');
    expect(body).toContain('aria-invalid="true"');
    expect(await tenantRow()).toEqual(before);
  });

  it('refuses a non-number TTL as a 400 page, nothing written', async () => {
    const before = await tenantRow();
    const csrf = await csrfOf(`/admin/tenants/${slug}`);
    const sent = await submit(
      `/admin/tenants/${slug}/settings`,
      settingsFields(csrf, { session_idle_ttl_seconds: 'soon' }),
      jar,
    );
    expect(sent.response.status).toBe(400);
    expect(await sent.response.text()).toContain('href="#session_idle_ttl_seconds"');
    expect(await tenantRow()).toEqual(before);
  });

  it('refuses a forged settings form (other Origin) with 403 and writes nothing', async () => {
    const before = await tenantRow();
    const csrf = await csrfOf(`/admin/tenants/${slug}`);
    const sent = await submit(
      `/admin/tenants/${slug}/settings`,
      settingsFields(csrf, { name: 'Forged' }),
      jar,
      { origin: 'https://evil.example' },
    );
    expect(sent.response.status).toBe(403);
    expect(await tenantRow()).toEqual(before);
  });

  it('rotates the signing key through the API service: a new active key, the old one published', async () => {
    const { id } = await tenantRow();
    const keys = () => countRows('signing_keys', sql`tenant_id = ${id}`);
    const before = await keys();
    const csrf = await csrfOf(`/admin/tenants/${slug}`);
    const sent = await submit(
      `/admin/tenants/${slug}/signing-keys/rotate`,
      { csrf_token: csrf },
      jar,
    );
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe(`/admin/tenants/${slug}?done=key_rotated`);
    expect(await keys()).toBe(before + 1);
    expect(await countRows('signing_keys', sql`tenant_id = ${id} and status = 'active'`)).toBe(1);
    expect(
      await countRows(
        'audit_events',
        sql`tenant_id = ${id} and type = 'admin.signing_key.rotated' and actor_id = ${operator.id}`,
      ),
    ).toBe(1);
  });
});
