// The admin console inside workerd: sign-in through the operator services, each section's pages
// and forms (PRG), CSRF refusals that write nothing, bad input as a 4xx page with nothing written,
// and the SQL round-trip budget of every console GET.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, testDB, uniqueEmail, uniqueSlug } from '../fixtures.ts';
import { send, type SendOptions } from '../harness.ts';
import { pbkdf2SHA256 } from '../../../src/lib/pbkdf2.ts';
import { openPage, submit } from '../pages/helpers.ts';
import { countRows, makeOperator, type TestOperator } from '../admin/fixtures.ts';

/**
 * The archive key's PBKDF2 at 1,000 iterations: the backup suite tests the real cost; here a real
 * derivation would take a minute and a half on a loaded machine for nothing the console decides.
 */
const cheapKDF: SendOptions = {
  app: {
    overrideDeps: () => ({
      archiveKDF: (password, salt, options) =>
        pbkdf2SHA256(password, salt, { ...options, iterations: 1_000 }),
    }),
  },
};

let operator: TestOperator;
/** The operator's browser: session cookie and CSRF cookie. */
let jar: CookieJar;

async function csrfOf(path: string): Promise<string> {
  const page = await openPage(path, jar);
  expect(page.sent.response.status).toBe(200);
  expect(page.csrf).not.toBe('');
  return page.csrf;
}

async function createTenantByForm(slug: string): Promise<void> {
  const csrf = await csrfOf('/admin/tenants');
  const sent = await submit(
    '/admin/tenants',
    { csrf_token: csrf, slug, name: `Console ${slug}`, cors_origins: '', hostnames: '' },
    jar,
  );
  expect(sent.response.status).toBe(303);
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
  expect(sent.response.headers.get('Location')).toBe('/admin/tenants?done=signed_in');
  jar.store(sent.response);
  const landed = await send('/admin/tenants?done=signed_in', { headers: jar.header() });
  expect(landed.response.status).toBe(200);
  expect(await landed.response.text()).toContain('Signed in.');
});

describe('console sign-in', () => {
  it('sends a browser without an operator session to the sign-in page, with no query', async () => {
    const sent = await send('/admin/tenants', { redirect: 'manual' });
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe('/admin/login');
    expect(await sent.roundTrips()).toBe(0);
  });

  it('answers a wrong password with a 401 page naming no reason, and sets no cookie', async () => {
    const browser = new CookieJar();
    const csrf = (await openPage('/admin/login', browser)).csrf;
    const sent = await submit(
      '/admin/login',
      { csrf_token: csrf, email: operator.email, password: 'Wrong-Password-123' },
      browser,
    );
    expect(sent.response.status).toBe(401);
    expect(await sent.response.text()).toContain('The email or password is wrong.');
    expect(sent.response.headers.getSetCookie().some((c) => c.includes('gatehouse_admin'))).toBe(
      false,
    );
  });

  it('refuses a sign-in form without the CSRF token (403) before checking the password', async () => {
    const browser = new CookieJar();
    await openPage('/admin/login', browser);
    const sent = await submit(
      '/admin/login',
      { email: operator.email, password: operator.password },
      browser,
    );
    expect(sent.response.status).toBe(403);
    expect(await sent.roundTrips()).toBe(0);
  });

  it('serves pages under the strict CSP: no inline script or style, no framing', async () => {
    const sent = await send('/admin/tenants', { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    const csp = sent.response.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const body = await sent.response.text();
    expect(body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    const css = /href="(\/admin\/assets\/console\.[0-9a-f]{16}\.css)"/.exec(body)?.[1];
    const asset = await send(css!);
    expect(asset.response.status).toBe(200);
    expect(asset.response.headers.get('Content-Type')).toMatch(/^text\/css/);
  });

  it('signs out: the session is revoked, the next page redirects to sign-in', async () => {
    const other = new CookieJar();
    const csrf = (await openPage('/admin/login', other)).csrf;
    jar.cookies.forEach((_, name) => void name);
    await submit(
      '/admin/login',
      { csrf_token: csrf, email: operator.email, password: operator.password },
      other,
    ).then((s) => other.store(s.response));
    const page = await openPage('/admin/tenants', other);
    const out = await submit('/admin/logout', { csrf_token: page.csrf }, other);
    expect(out.response.status).toBe(303);
    other.store(out.response);
    const after = await send('/admin/tenants', { headers: other.header(), redirect: 'manual' });
    expect(after.response.status).toBe(303);
  });
});

describe('console tenants', () => {
  it('lists tenants in two round trips (session, page of tenants)', async () => {
    const sent = await send('/admin/tenants', { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2);
  });

  it('creates a tenant with the API service (audited), then shows it in three round trips', async () => {
    const slug = uniqueSlug('con');
    await createTenantByForm(slug);
    expect(await countRows('tenants', sql`slug = ${slug}`)).toBe(1);
    const audited = await testDB().execute(sql`
      select count(*)::int as n from audit_events e join tenants t on t.id = e.tenant_id
      where t.slug = ${slug} and e.type = 'admin.tenant.created' and e.actor_id = ${operator.id}`);
    expect(Number(audited.rows[0]!.n)).toBe(1);
    const page = await send(`/admin/tenants/${slug}`, { headers: jar.header() });
    expect(page.response.status).toBe(200);
    expect(await page.response.text()).toContain('ES256');
    expect(await page.roundTrips()).toBe(3);
  });

  it('refuses a bad slug with a 400 page naming the field, and writes nothing', async () => {
    const csrf = await csrfOf('/admin/tenants');
    const sent = await submit(
      '/admin/tenants',
      { csrf_token: csrf, slug: 'Not A Slug!', name: 'x', cors_origins: 'ftp://nope' },
      jar,
    );
    expect(sent.response.status).toBe(400);
    const body = await sent.response.text();
    expect(body).toContain('href="#slug"');
    expect(body).toContain('aria-invalid="true"');
    expect(await countRows('tenants', sql`name = 'x'`)).toBe(0);
  });

  it('refuses a forged tenant form (other Origin) with 403 and writes nothing', async () => {
    const slug = uniqueSlug('forged');
    const csrf = await csrfOf('/admin/tenants');
    const sent = await submit('/admin/tenants', { csrf_token: csrf, slug, name: 'Forged' }, jar, {
      origin: 'https://evil.example',
    });
    expect(sent.response.status).toBe(403);
    expect(await countRows('tenants', sql`slug = ${slug}`)).toBe(0);
  });
});

describe('console users', () => {
  let slug: string;
  beforeAll(async () => {
    slug = uniqueSlug('cu');
    await createTenantByForm(slug);
  });

  it('creates, lists (two round trips), searches and disables a user, each audited', async () => {
    const email = uniqueEmail();
    const csrf = await csrfOf(`/admin/tenants/${slug}/users`);
    const created = await submit(
      `/admin/tenants/${slug}/users`,
      { csrf_token: csrf, email, name: 'Ada Console', password: '' },
      jar,
    );
    expect(created.response.status).toBe(303);
    const after = await send(created.response.headers.get('Location')!, { headers: jar.header() });
    expect(await after.response.text()).toContain('User created.');
    const row = await testDB().execute(
      sql`select id from users where email_normalized = ${email.toLowerCase()}`,
    );
    const id = String(row.rows[0]!.id);

    const listed = await send(
      `/admin/tenants/${slug}/users?search=${encodeURIComponent('ada console')}`,
      { headers: jar.header() },
    );
    expect(listed.response.status).toBe(200);
    expect(await listed.response.text()).toContain(email);
    expect(await listed.roundTrips()).toBe(2);

    const disabled = await submit(
      `/admin/tenants/${slug}/users/${id}/disable`,
      { csrf_token: csrf },
      jar,
    );
    expect(disabled.response.status).toBe(303);
    expect(await countRows('users', sql`id = ${id}::uuid and disabled_at is not null`)).toBe(1);
    expect(
      await countRows('audit_events', sql`type = 'admin.user.disabled' and target_id = ${id}`),
    ).toBe(1);
  });

  it('erases a user only after the confirmation page (the admin erasure, audited)', async () => {
    const email = uniqueEmail();
    const csrf = await csrfOf(`/admin/tenants/${slug}/users`);
    await submit(`/admin/tenants/${slug}/users`, { csrf_token: csrf, email, password: '' }, jar);
    const row = await testDB().execute(
      sql`select id from users where email_normalized = ${email.toLowerCase()}`,
    );
    const id = String(row.rows[0]!.id);
    const path = `/admin/tenants/${slug}/users/${id}/delete`;
    const asked = await submit(path, { csrf_token: csrf }, jar);
    expect(asked.response.status).toBe(200);
    expect(await asked.response.text()).toContain('Yes, delete the user');
    expect(await countRows('users', sql`id = ${id}::uuid`)).toBe(1);
    const erasures = sql`type = 'admin.user.deleted' and tenant_id = (select id from tenants where slug = ${slug})`;
    const before = await countRows('audit_events', erasures);
    const deleted = await submit(path, { csrf_token: csrf, confirm: 'yes' }, jar);
    expect(deleted.response.status).toBe(303);
    expect(await countRows('users', sql`id = ${id}::uuid`)).toBe(0);
    // The same erasure as the API's: recorded, and no event names the erased user any more.
    expect(await countRows('audit_events', erasures)).toBe(before + 1);
    expect(await countRows('audit_events', sql`target_id = ${id} or actor_id = ${id}`)).toBe(0);
  });

  it("applies the tenant's password policy: a short password is a 400 and no user", async () => {
    const email = uniqueEmail();
    const csrf = await csrfOf(`/admin/tenants/${slug}/users`);
    const sent = await submit(
      `/admin/tenants/${slug}/users`,
      { csrf_token: csrf, email, password: 'short' },
      jar,
    );
    expect(sent.response.status).toBe(400);
    expect(await countRows('users', sql`email_normalized = ${email.toLowerCase()}`)).toBe(0);
  });

  it('answers a second user with the same email with 409 on the form', async () => {
    const email = uniqueEmail();
    const csrf = await csrfOf(`/admin/tenants/${slug}/users`);
    const fields = { csrf_token: csrf, email, password: '' };
    expect((await submit(`/admin/tenants/${slug}/users`, fields, jar)).response.status).toBe(303);
    const again = await submit(`/admin/tenants/${slug}/users`, fields, jar);
    expect(again.response.status).toBe(409);
    expect(await countRows('users', sql`email_normalized = ${email.toLowerCase()}`)).toBe(1);
  });
});

describe('console audit log and backups', () => {
  let slug: string;
  beforeAll(async () => {
    slug = uniqueSlug('ca');
    await createTenantByForm(slug);
  });

  it('shows a filtered audit log in four round trips', async () => {
    const sent = await send(`/admin/audit?tenant=${slug}&type=admin.tenant.created`, {
      headers: jar.header(),
    });
    expect(sent.response.status).toBe(200);
    const body = await sent.response.text();
    expect(body).toContain('admin.tenant.created');
    expect(body).toContain('1 matching events');
    expect(await sent.roundTrips()).toBe(4);
  });

  it("verifies the tenant's chain and says so", async () => {
    const csrf = await csrfOf(`/admin/audit?tenant=${slug}`);
    const sent = await submit('/admin/audit/verify', { csrf_token: csrf, tenant: slug }, jar);
    expect(sent.response.status).toBe(200);
    expect(await sent.response.text()).toContain('Chain intact');
  });

  it('downloads an export as an attachment, audited as admin.tenant.exported', async () => {
    const csrf = await csrfOf(`/admin/backups?tenant=${slug}`);
    const sent = await submit(
      '/admin/backups/export',
      { csrf_token: csrf, tenant: slug, passphrase: 'a long console passphrase' },
      jar,
      cheapKDF,
    );
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Content-Disposition')).toMatch(
      new RegExp(`^attachment; filename="${slug}-.*\\.bkp1"$`),
    );
    const bytes = new Uint8Array(await sent.response.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('bkp1');
    expect(
      await countRows(
        'audit_events',
        sql`type = 'admin.tenant.exported' and actor_id = ${operator.id}`,
      ),
    ).toBeGreaterThan(0);
  });

  it('refuses a short passphrase with a 400 page and records no export', async () => {
    const before = await countRows('audit_events', sql`type = 'admin.tenant.exported'`);
    const csrf = await csrfOf('/admin/backups');
    const sent = await submit(
      '/admin/backups/export',
      { csrf_token: csrf, tenant: slug, passphrase: 'short' },
      jar,
    );
    expect(sent.response.status).toBe(400);
    expect(await countRows('audit_events', sql`type = 'admin.tenant.exported'`)).toBe(before);
  });

  it('lists backups in two round trips', async () => {
    const sent = await send('/admin/backups', { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2);
  });
});
