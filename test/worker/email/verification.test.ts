// Issue 12, item 4: email verification. Register mails a link; the token from the link verifies
// the address (the access token's email_verified becomes true); replayed, expired and
// foreign-tenant tokens are refused with nothing written; the tenant requirement gates sign-in.
import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { ManualClock } from '../mfa/helpers.ts';
import { PASSWORD, RecordingMailer, post, tokenFromMail, warmUp, mailSettings } from './helpers.ts';

beforeAll(warmUp);

async function registerWithMail(
  tenant: TestTenant,
  mailer: RecordingMailer,
  email = uniqueEmail(),
) {
  const sent = await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { sent, email, jar };
}

async function userRow(tenantId: string, email: string) {
  const result = await testDB().execute(sql`
    select u.id, u.email_verified,
      (select count(*)::int from email_tokens k where k.user_id = u.id and k.used_at is null) as live_tokens,
      (select count(*)::int from audit_events a where a.tenant_id = u.tenant_id and a.type = 'security.email.verified') as verified_events
    from users u where u.tenant_id = ${tenantId}::uuid and u.email_normalized = ${email.toLowerCase()}`);
  const row = result.rows[0]!;
  return {
    id: String(row.id),
    verified: row.email_verified === true || row.email_verified === 't',
    liveTokens: Number(row.live_tokens),
    verifiedEvents: Number(row.verified_events),
  };
}

async function accessToken(tenant: TestTenant, jar: CookieJar): Promise<Record<string, unknown>> {
  const sent = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(sent.response.status).toBe(200);
  return decodeJwt((await sent.json<{ access_token: string }>()).access_token);
}

describe('email verification', () => {
  it('register mails a link whose token verifies the address; new access tokens say email_verified', async () => {
    const tenant = await makeTenant({ name: 'Acme Tools' });
    const mailer = new RecordingMailer();
    const { sent, email, jar } = await registerWithMail(tenant, mailer);
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
    const mail = mailer.last(email, 'email_verification');
    expect(mail.tenantId).toBe(tenant.id);
    expect(mail.subject).toContain('Acme Tools');
    // The default link is the hosted page, the token in its query (works without JavaScript).
    expect(mail.text).toMatch(
      new RegExp(
        `https://gatehouse\\.test/t/${tenant.slug}/verify-email\\?token=[A-Za-z0-9_-]{43}`,
      ),
    );
    expect(mail.html).toContain('<a href="https://gatehouse.test/');
    expect((await accessToken(tenant, jar)).email_verified).toBe(false);

    const verified = await post(
      tenant,
      '/v1/auth/email/verify',
      { token: tokenFromMail(mail) },
      { mailer },
    );
    expect(verified.response.status).toBe(200);
    expect(await verified.json()).toEqual({ status: 'verified' });
    expect(await verified.roundTrips()).toBeLessThanOrEqual(2);
    expect((await accessToken(tenant, jar)).email_verified).toBe(true);
    const row = await userRow(tenant.id, email);
    expect(row.verified).toBe(true);
    expect(row.verifiedEvents).toBe(1);
  });

  it('refuses a replayed token with one code and writes nothing', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email } = await registerWithMail(tenant, mailer);
    const token = tokenFromMail(mailer.last(email, 'email_verification'));
    expect(
      (await post(tenant, '/v1/auth/email/verify', { token }, { mailer })).response.status,
    ).toBe(200);
    const again = await post(tenant, '/v1/auth/email/verify', { token }, { mailer });
    expect(again.response.status).toBe(400);
    expect((await again.json()).error).toBe('invalid_verification_token');
    expect((await userRow(tenant.id, email)).verifiedEvents).toBe(1);
  });

  it("refuses an expired token (24 h) and another tenant's token, writing nothing", async () => {
    const tenant = await makeTenant();
    const other = await makeTenant();
    const mailer = new RecordingMailer();
    const clock = new ManualClock(new Date());
    const email = uniqueEmail();
    const sent = await post(
      tenant,
      '/v1/auth/register',
      { email, password: PASSWORD },
      { mailer, clock },
    );
    expect(sent.response.status).toBe(201);
    const token = tokenFromMail(mailer.last(email, 'email_verification'));

    const foreign = await post(other, '/v1/auth/email/verify', { token }, { mailer });
    expect(foreign.response.status).toBe(400);
    expect((await foreign.json()).error).toBe('invalid_verification_token');

    clock.advance(24 * 3600 - 1);
    const expiredClock = new ManualClock(new Date(clock.now().getTime() + 2000));
    const expired = await post(
      tenant,
      '/v1/auth/email/verify',
      { token },
      { mailer, clock: expiredClock },
    );
    expect(expired.response.status).toBe(400);
    expect((await expired.json()).error).toBe('invalid_verification_token');
    const row = await userRow(tenant.id, email);
    expect(row).toMatchObject({ verified: false, liveTokens: 1, verifiedEvents: 0 });

    // One second before the end it still works.
    const inTime = await post(tenant, '/v1/auth/email/verify', { token }, { mailer, clock });
    expect(inTime.response.status).toBe(200);
  });

  it('a resent link replaces the older one; resend is limited to 3 an hour', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email, jar } = await registerWithMail(tenant, mailer);
    const first = tokenFromMail(mailer.last(email, 'email_verification'));
    const resent = await post(
      tenant,
      '/v1/auth/email/verify/resend',
      {},
      { mailer, headers: jar.header() },
    );
    expect(resent.response.status).toBe(202);
    expect(await resent.roundTrips()).toBeLessThanOrEqual(2);
    const second = tokenFromMail(mailer.last(email, 'email_verification'));
    expect(second).not.toBe(first);
    const old = await post(tenant, '/v1/auth/email/verify', { token: first }, { mailer });
    expect((await old.json()).error).toBe('invalid_verification_token');

    for (let i = 0; i < 2; i += 1) {
      const more = await post(
        tenant,
        '/v1/auth/email/verify/resend',
        {},
        { mailer, headers: jar.header() },
      );
      expect(more.response.status).toBe(202);
    }
    const limited = await post(
      tenant,
      '/v1/auth/email/verify/resend',
      {},
      { mailer, headers: jar.header() },
    );
    expect(limited.response.status).toBe(429);
    expect(mailer.to(email, 'email_verification')).toHaveLength(4);

    const latest = tokenFromMail(mailer.last(email, 'email_verification'));
    expect(
      (await post(tenant, '/v1/auth/email/verify', { token: latest }, { mailer })).response.status,
    ).toBe(200);
    const done = await post(
      tenant,
      '/v1/auth/email/verify/resend',
      {},
      { mailer, headers: jar.header() },
    );
    expect(done.response.status).toBe(200);
    expect(await done.json()).toEqual({ status: 'already_verified' });
  });

  it('with email_verification_required: 201 without a session, sign-in 403 until verified', async () => {
    const tenant = await makeTenant({ settings: { emailVerificationRequired: true } });
    const mailer = new RecordingMailer();
    const email = uniqueEmail();
    const registered = await post(
      tenant,
      '/v1/auth/register',
      { email, password: PASSWORD },
      { mailer },
    );
    expect(registered.response.status).toBe(201);
    expect(registered.response.headers.getSetCookie()).toEqual([]);
    expect(await registered.json()).toMatchObject({
      session: null,
      email_verification_required: true,
    });
    expect(await registered.roundTrips()).toBeLessThanOrEqual(2);

    const refused = await post(tenant, '/v1/auth/login', { email, password: PASSWORD }, { mailer });
    expect(refused.response.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error: 'email_not_verified',
      verification_sent: true,
    });
    expect(refused.response.headers.getSetCookie()).toEqual([]);
    expect(await refused.roundTrips()).toBeLessThanOrEqual(2);
    const sessions = await testDB().execute(sql`
      select count(*)::int as n from sessions s join users u on u.id = s.user_id
      where u.tenant_id = ${tenant.id}::uuid and u.email_normalized = ${email}`);
    expect(Number(sessions.rows[0]!.n)).toBe(0);
    // A wrong password still gets the usual answer: the 403 needs the password.
    const wrong = await post(
      tenant,
      '/v1/auth/login',
      { email, password: 'wrong horse battery' },
      { mailer },
    );
    expect(wrong.response.status).toBe(401);

    // The refusal mailed a fresh link (the register one is void now); it opens the door.
    expect(mailer.to(email, 'email_verification')).toHaveLength(2);
    const token = tokenFromMail(mailer.last(email, 'email_verification'));
    expect(
      (await post(tenant, '/v1/auth/email/verify', { token }, { mailer })).response.status,
    ).toBe(200);
    const signedIn = await post(
      tenant,
      '/v1/auth/login',
      { email, password: PASSWORD },
      { mailer },
    );
    expect(signedIn.response.status).toBe(200);
    expect(await signedIn.roundTrips()).toBeLessThanOrEqual(2);
  });

  it('uses the tenant link, product name and template overrides, HTML-escaping values', async () => {
    const tenant = await makeTenant({
      settings: {
        mail: mailSettings({
          links: { verify_url: 'https://app.example.com/verify?src=mail' },
          product_name: 'Tom & <Jerry>',
          templates: {
            email_verification: {
              subject: 'Welcome to {{product_name}}',
              html: '<p>{{product_name}}: <a href="{{link}}">go</a></p>',
            },
          },
        }),
      },
    });
    const mailer = new RecordingMailer();
    const { email } = await registerWithMail(tenant, mailer);
    const mail = mailer.last(email, 'email_verification');
    expect(mail.subject).toBe('Welcome to Tom & <Jerry>');
    expect(mail.html).toMatch(
      /^<p>Tom &amp; &lt;Jerry&gt;: <a href="https:\/\/app\.example\.com\/verify\?src=mail#token=[A-Za-z0-9_-]{43}">go<\/a><\/p>$/,
    );
    // The text body was not overridden: the default, with the tenant's link.
    expect(mail.text).toContain('https://app.example.com/verify?src=mail#token=');
  });
});
