// The email pages with JavaScript off, mail over the real queue and SMTP (test/worker/mail/inbox.ts):
// forgot-password → the mailed ?token= link → its GET moves the token into an HttpOnly cookie and
// 303s to the bare path (the token leaves the URL) → the new-password form → signed out everywhere,
// the new password works. Verify-email: a GET consumes nothing (mail scanners), the button's POST does.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { inbox, uniqueRecipient } from '../mail/inbox.ts';
import { NEW_PASSWORD, PASSWORD, warmUp } from '../email/helpers.ts';
import { openPage, submit } from './helpers.ts';

beforeAll(warmUp);

async function mailMatching(to: string, subject: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await inbox(to)).filter((m) => subject.test(m.subject));
    if (found.length > 0) return found[found.length - 1]!.text;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${String(subject)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function linkIn(text: string, path: string): string {
  const match = new RegExp(
    `https://gatehouse\\.test(/t/[a-z0-9-]+/${path}\\?token=[A-Za-z0-9_-]{43})`,
  ).exec(text);
  expect(match, `a ${path}?token= link`).not.toBeNull();
  return match![1]!;
}

async function registerJSON(tenant: TestTenant, email: string): Promise<void> {
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }),
  );
  expect(sent.response.status).toBe(201);
}

async function loginStatus(tenant: TestTenant, email: string, password: string): Promise<number> {
  return (await send(`${tenant.base}/v1/auth/login`, jsonRequest('POST', { email, password })))
    .response.status;
}

describe('hosted email pages, JavaScript off', () => {
  it('resets a password from the mailed link; the token never stays in a URL', async () => {
    const tenant = await makeTenant({ name: 'Pages Reset Co' });
    const email = uniqueRecipient('pages-reset');
    await registerJSON(tenant, email);
    const jar = new CookieJar();
    const forgot = await openPage(`${tenant.base}/forgot-password`, jar);
    const asked = await submit(
      `${tenant.base}/forgot-password`,
      { csrf_token: forgot.csrf, email },
      jar,
    );
    expect(asked.response.status).toBe(200);
    expect(await asked.response.text()).toContain('If an account exists');

    const link = linkIn(
      await mailMatching(email, /Reset your Pages Reset Co password/),
      'reset-password',
    );
    const followed = await send(link, { headers: jar.header(), redirect: 'manual' });
    expect(followed.response.status).toBe(303);
    expect(followed.response.headers.get('Location')).toBe(`${tenant.base}/reset-password`);
    const cookie = followed.response.headers
      .getSetCookie()
      .find((l) => l.includes('gatehouse_reset='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(await followed.roundTrips()).toBe(0);
    jar.store(followed.response);

    const form = await openPage(`${tenant.base}/reset-password`, jar);
    expect(form.sent.response.status).toBe(200);
    expect(form.html).toContain('<label for="new_password">');
    expect(form.html).not.toContain(link.split('token=')[1]!);
    const done = await submit(
      `${tenant.base}/reset-password`,
      { csrf_token: form.csrf, new_password: NEW_PASSWORD },
      jar,
    );
    expect(done.response.status).toBe(200);
    expect(await done.response.text()).toContain('Your password has been changed');
    expect(await loginStatus(tenant, email, NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(tenant, email, PASSWORD)).toBe(401);

    // The link is spent: following it again ends on the expired-link page.
    jar.store(done.response);
    const replay = await send(link, { headers: jar.header(), redirect: 'manual' });
    jar.store(replay.response);
    const again = await openPage(`${tenant.base}/reset-password`, jar);
    const second = await submit(
      `${tenant.base}/reset-password`,
      { csrf_token: again.csrf, new_password: 'another fine passphrase' },
      jar,
    );
    expect(second.response.status).toBe(400);
    expect(await second.response.text()).toContain('This link has expired');
  });

  it('verifies an address only on the button’s POST, never on the link’s GET', async () => {
    const tenant = await makeTenant({ name: 'Pages Verify Co' });
    const email = uniqueRecipient('pages-verify');
    await registerJSON(tenant, email);
    const link = linkIn(
      await mailMatching(email, /Confirm your email address for Pages Verify Co/),
      'verify-email',
    );
    const jar = new CookieJar();
    const followed = await send(link, { redirect: 'manual' });
    expect(followed.response.status).toBe(303);
    jar.store(followed.response);
    const page = await openPage(`${tenant.base}/verify-email`, jar);
    expect(page.html).toContain('Verify my email address');
    const verified = async () => {
      const row = await testDB().execute(sql`
        select email_verified from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${email}`);
      return row.rows[0]?.email_verified === true || row.rows[0]?.email_verified === 't';
    };
    expect(await verified()).toBe(false);
    const posted = await submit(`${tenant.base}/verify-email`, { csrf_token: page.csrf }, jar);
    expect(posted.response.status).toBe(200);
    expect(await posted.response.text()).toContain('Your email address is verified');
    expect(await verified()).toBe(true);
  });
});
