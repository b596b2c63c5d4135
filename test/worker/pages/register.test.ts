// The hosted /register page: sign-up through the same service as the JSON API (session cookie,
// amr pwd, 303 to return_to), "check your mail" when the tenant requires verification, and a
// closed registration.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail } from '../fixtures.ts';
import { PASSWORD } from '../mfa/helpers.ts';
import { authorizeReturnTo, expectSessionCookie, latestAmr, openPage, submit } from './helpers.ts';

describe('register page', () => {
  it('creates the account, sets the session cookie and 303s to return_to (amr pwd)', async () => {
    const tenant = await makeTenant();
    const jar = new CookieJar();
    const returnTo = authorizeReturnTo();
    const page = await openPage(
      `${tenant.base}/register?return_to=${encodeURIComponent(returnTo)}`,
      jar,
    );
    expect(page.html).toContain('<label for="email">');
    const email = uniqueEmail();
    const sent = await submit(
      `${tenant.base}/register`,
      { csrf_token: page.csrf, return_to: returnTo, email, password: PASSWORD, name: 'Ann' },
      jar,
    );
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe(`${tenant.base}${returnTo}`);
    expectSessionCookie(sent.response, tenant);
    expect(await latestAmr(tenant.id, email)).toEqual(['pwd']);
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);

    // The same address again: the form, with the error on the email field.
    const again = await submit(
      `${tenant.base}/register`,
      { csrf_token: page.csrf, email, password: PASSWORD },
      jar,
    );
    expect(again.response.status).toBe(409);
    expect(await again.response.text()).toContain('aria-describedby="email-error"');
  });

  it('shows “check your email” and starts no session when verification is required', async () => {
    const tenant = await makeTenant({ settings: { emailVerificationRequired: true } });
    const jar = new CookieJar();
    const page = await openPage(`${tenant.base}/register`, jar);
    const email = uniqueEmail();
    const sent = await submit(
      `${tenant.base}/register`,
      { csrf_token: page.csrf, email, password: PASSWORD },
      jar,
    );
    expect(sent.response.status).toBe(200);
    expect(await sent.response.text()).toContain('Check your email');
    const sessions = await testDB().execute(sql`
      select count(*)::int as n from sessions s join users u on u.id = s.user_id
      where u.tenant_id = ${tenant.id}::uuid and u.email_normalized = ${email}`);
    expect(Number(sessions.rows[0]?.n)).toBe(0);
  });

  it('refuses a weak password with the form again and says so on the field', async () => {
    const tenant = await makeTenant();
    const jar = new CookieJar();
    const page = await openPage(`${tenant.base}/register`, jar);
    const sent = await submit(
      `${tenant.base}/register`,
      { csrf_token: page.csrf, email: uniqueEmail(), password: 'short' },
      jar,
    );
    expect(sent.response.status).toBe(400);
    expect(await sent.response.text()).toContain('aria-describedby="password-hint password-error"');
  });

  it('says registration is closed when the tenant turned it off', async () => {
    const tenant = await makeTenant({ settings: { registrationEnabled: false } });
    const page = await openPage(`${tenant.base}/register`, new CookieJar());
    expect(page.sent.response.status).toBe(403);
    expect(page.html).toContain('Registration is closed');
  });
});
