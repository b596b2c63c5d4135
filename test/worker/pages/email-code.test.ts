// The hosted /email-code page: only when the tenant enables email codes; request → the code from
// the mail → signed in (amr otp) and back to return_to, through the same service as the JSON API.
import { describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, uniqueEmail } from '../fixtures.ts';
import { PASSWORD, RecordingMailer, codeFromMail, mailSettings, post } from '../email/helpers.ts';
import { authorizeReturnTo, expectSessionCookie, latestAmr, openPage, submit } from './helpers.ts';

describe('email code page', () => {
  it('signs in with the mailed code and returns to return_to', async () => {
    const tenant = await makeTenant({
      settings: { mail: mailSettings({ otp_sign_in_enabled: true }) },
    });
    const mailer = new RecordingMailer();
    const withMailer = { app: { overrideDeps: () => ({ mail: mailer }) } };
    const email = uniqueEmail();
    await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
    const jar = new CookieJar();
    const returnTo = authorizeReturnTo();
    const page = await openPage(
      `${tenant.base}/email-code?return_to=${encodeURIComponent(returnTo)}`,
      jar,
    );
    expect(page.sent.response.status).toBe(200);
    const asked = await submit(
      `${tenant.base}/email-code`,
      { csrf_token: page.csrf, return_to: returnTo, step: 'request', email },
      jar,
      withMailer,
    );
    expect(asked.response.status).toBe(200);
    const code = codeFromMail(mailer.last(email, 'email_otp'));
    const done = await submit(
      `${tenant.base}/email-code`,
      { csrf_token: page.csrf, return_to: returnTo, step: 'verify', email, code },
      jar,
      withMailer,
    );
    expect(done.response.status).toBe(303);
    expect(done.response.headers.get('Location')).toBe(`${tenant.base}${returnTo}`);
    expectSessionCookie(done.response, tenant);
    expect(await latestAmr(tenant.id, email)).toEqual(['otp']);
  });

  it('is not offered when the tenant has not enabled email codes', async () => {
    const tenant = await makeTenant();
    const page = await openPage(`${tenant.base}/email-code`, new CookieJar());
    expect(page.sent.response.status).toBe(404);
    expect(page.sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
  });
});
