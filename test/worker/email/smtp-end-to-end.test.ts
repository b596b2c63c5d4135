// Issue 12, done-when: the email flows end to end through the Worker's real delivery. Requests
// enqueue on the real MAIL_QUEUE, miniflare runs this Worker's consumer, which speaks SMTP over
// connect() to the loopback test server (scripts/stack/smtp-server.ts); each test reads the link or
// code out of the mail the server received, as a user would, and finishes the flow with it.
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealSMTPPassword, storeSMTPPassword } from '../../../src/features/mail/repo.ts';
import { CookieJar, makeTenant, testConfig, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  addSMTPListener,
  inbox,
  smtpDown,
  smtpUp,
  uniqueRecipient,
  type ReceivedMail,
} from '../mail/inbox.ts';
import { NEW_PASSWORD, PASSWORD, mailSettings, warmUp } from './helpers.ts';

beforeAll(warmUp);

const MAIL_WAIT_MS = 20_000;

/** The newest mail to `to` whose subject matches, waiting for it. */
async function mailMatching(to: string, subject: RegExp, timeoutMs = MAIL_WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await inbox(to)).filter((m) => subject.test(m.subject));
    if (found.length > 0) return found[found.length - 1]!;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${String(subject)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tokenIn(mail: ReceivedMail): string {
  const text = /[#?]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  const html = /[#?]token=([A-Za-z0-9_-]+)/.exec(mail.html);
  expect(text, 'a #token= link in the text part').not.toBeNull();
  expect(html?.[1], 'the same link in the HTML part').toBe(text![1]);
  return text![1]!;
}

async function register(tenant: TestTenant, email: string): Promise<CookieJar> {
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return jar;
}

async function login(tenant: TestTenant, email: string, password: string) {
  const sent = await send(`${tenant.base}/v1/auth/login`, jsonRequest('POST', { email, password }));
  const jar = new CookieJar();
  jar.store(sent.response);
  return { status: sent.response.status, jar };
}

async function sessionStatus(tenant: TestTenant, jar: CookieJar): Promise<number> {
  return (await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() })).response.status;
}

describe('email flows over real SMTP', () => {
  it('register → verification mail received → verify → email_verified true in new tokens', async () => {
    const tenant = await makeTenant({ name: 'Smtp Verify Co' });
    const email = uniqueRecipient('verify');
    const jar = await register(tenant, email);
    const mail = await mailMatching(email, /Confirm your email address for Smtp Verify Co/);
    expect(mail.headers['content-type']).toMatch(/^multipart\//);
    const token = tokenIn(mail);

    const verified = await send(
      `${tenant.base}/v1/auth/email/verify`,
      jsonRequest('POST', { token }),
    );
    expect(verified.response.status).toBe(200);
    const grant = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, jar.header()),
    );
    expect(grant.response.status).toBe(200);
    const claims = decodeJwt((await grant.json<{ access_token: string }>()).access_token);
    expect(claims.email_verified).toBe(true);
  });

  it('forgot → reset mail received → reset with its token: old password refused, new accepted, other sessions dead, notice mailed', async () => {
    const tenant = await makeTenant({ name: 'Smtp Reset Co' });
    const email = uniqueRecipient('reset');
    const first = await register(tenant, email);
    const second = (await login(tenant, email, PASSWORD)).jar;
    expect(await sessionStatus(tenant, second)).toBe(200);

    const forgot = await send(
      `${tenant.base}/v1/auth/password/forgot`,
      jsonRequest('POST', { email }),
    );
    expect(forgot.response.status).toBe(202);
    const token = tokenIn(await mailMatching(email, /Reset your Smtp Reset Co password/));

    const reset = await send(
      `${tenant.base}/v1/auth/password/reset`,
      jsonRequest('POST', { token, new_password: NEW_PASSWORD }),
    );
    expect(reset.response.status).toBe(200);
    expect((await login(tenant, email, PASSWORD)).status).toBe(401);
    expect((await login(tenant, email, NEW_PASSWORD)).status).toBe(200);
    expect(await sessionStatus(tenant, first)).toBe(401);
    expect(await sessionStatus(tenant, second)).toBe(401);
    await mailMatching(email, /Your Smtp Reset Co password was changed/);
  });

  it('email one-time code: request → code received → verify signs in with a session', async () => {
    const tenant = await makeTenant({
      name: 'Smtp Otp Co',
      settings: { mail: mailSettings({ otp_sign_in_enabled: true }) },
    });
    const email = uniqueRecipient('otp');
    await register(tenant, email);
    const requested = await send(
      `${tenant.base}/v1/auth/email-otp/request`,
      jsonRequest('POST', { email }),
    );
    expect(requested.response.status).toBe(202);
    const mail = await mailMatching(email, /sign-in code/);
    const code = /^\s*([0-9]{6})\s*$/m.exec(mail.text)?.[1];
    expect(code, 'a six-digit code on a line of its own').toBeDefined();

    const verified = await send(
      `${tenant.base}/v1/auth/email-otp/verify`,
      jsonRequest('POST', { email, code }),
    );
    expect(verified.response.status).toBe(200);
    const jar = new CookieJar();
    jar.store(verified.response);
    expect(await sessionStatus(tenant, jar)).toBe(200);
  });

  it("with the tenant's SMTP server down the request still answers 202 at once, and the mail arrives when the server returns", async () => {
    const port = await addSMTPListener();
    const tenant = await makeTenant({
      name: 'Smtp Down Co',
      // worker-mailer logs in whenever a server offers AUTH, as this one does.
      settings: {
        mail: { ...mailSettings({}), host: '127.0.0.1', port, tls: 'none', username: 'down-co' },
      },
    });
    await storeSMTPPassword(
      testDB(),
      tenant.id,
      await sealSMTPPassword(testConfig().secretKey, tenant.id, 'down-co-password'),
    );
    const email = uniqueRecipient('down');
    await register(tenant, email);
    await mailMatching(email, /Confirm your email address/);
    await smtpDown(port);
    try {
      const started = Date.now();
      const forgot = await send(
        `${tenant.base}/v1/auth/password/forgot`,
        jsonRequest('POST', { email }),
      );
      expect(forgot.response.status).toBe(202);
      // The answer waits on the credential floor (300 ms), not on SMTP.
      expect(Date.now() - started).toBeLessThan(3_000);
      // The consumer's first attempt finds the server down; nothing arrives meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect((await inbox(email)).filter((m) => /Reset your/.test(m.subject))).toEqual([]);
    } finally {
      await smtpUp(port);
    }
    // Retried with backoff (30 s first) and delivered once the server is back.
    const mail = await mailMatching(email, /Reset your Smtp Down Co password/, 75_000);
    expect(tokenIn(mail)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 120_000);
});
