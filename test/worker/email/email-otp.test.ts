// Issue 12, item 6: email one-time codes. A tenant opts in; request → the code from the mail →
// verify signs in through the same MFA gate as a password (TOTP users get the second-factor
// step); five wrong guesses kill a code; unknown addresses get the same answers; limits apply.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import { awayFromWindowEdge, uniqueIP } from '../abuse/helpers.ts';
import { ManualClock, codeAt, enableTOTP } from '../mfa/helpers.ts';
import { PASSWORD, RecordingMailer, codeFromMail, post, warmUp, mailSettings } from './helpers.ts';

beforeAll(warmUp);

const OTP_ON = { mail: mailSettings({ otp_sign_in_enabled: true }) };

async function signUp(tenant: TestTenant, mailer: RecordingMailer) {
  const email = uniqueEmail();
  const sent = await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { email, jar };
}

async function requestCode(
  tenant: TestTenant,
  mailer: RecordingMailer,
  email: string,
  clock?: ManualClock,
) {
  const sent = await post(
    tenant,
    '/v1/auth/email-otp/request',
    { email },
    { mailer, ...(clock ? { clock } : {}) },
  );
  expect(sent.response.status).toBe(202);
  return sent;
}

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

async function codeRow(tenantId: string, email: string) {
  const result = await testDB().execute(sql`
    select c.attempts, c.used_at from email_otp_codes c join users u on u.id = c.user_id
    where u.tenant_id = ${tenantId}::uuid and u.email_normalized = ${email}`);
  const row = result.rows[0];
  return row === undefined ? null : { attempts: Number(row.attempts), used: row.used_at !== null };
}

describe('email one-time codes', () => {
  it('request → code from the mail → signed in, the address verified, the code single-use', async () => {
    const tenant = await makeTenant({ name: 'Acme', settings: OTP_ON });
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    const requested = await requestCode(tenant, mailer, email);
    expect(await requested.roundTrips()).toBeLessThanOrEqual(2);
    const mail = mailer.last(email, 'email_otp');
    expect(mail.text).toContain('10 minutes');
    const code = codeFromMail(mail);

    const verified = await post(tenant, '/v1/auth/email-otp/verify', { email, code }, { mailer });
    expect(verified.response.status).toBe(200);
    expect(await verified.roundTrips()).toBeLessThanOrEqual(2);
    const body = await verified.json<{
      user: { email_verified: boolean };
      session: { id: string };
    }>();
    expect(body.user.email_verified).toBe(true);
    const jar = new CookieJar();
    jar.store(verified.response);
    expect(
      (await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() })).response.status,
    ).toBe(200);
    const events = await testDB().execute(sql`select details from audit_events
      where tenant_id = ${tenant.id}::uuid and type = 'security.login.succeeded' order by created_at desc limit 1`);
    expect(JSON.stringify(events.rows[0]!.details)).toContain('email_otp');

    const replay = await post(tenant, '/v1/auth/email-otp/verify', { email, code }, { mailer });
    expect(replay.response.status).toBe(401);
    expect((await replay.json()).error).toBe('invalid_code');
  });

  it('a user with TOTP gets the second-factor step, not a session', async () => {
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const user = await signUp(tenant, mailer);
    const { secret } = await enableTOTP(tenant, user);
    await requestCode(tenant, mailer, user.email);
    const code = codeFromMail(mailer.last(user.email, 'email_otp'));
    const step = await post(
      tenant,
      '/v1/auth/email-otp/verify',
      { email: user.email, code },
      { mailer },
    );
    expect(step.response.status).toBe(200);
    expect(step.response.headers.getSetCookie()).toEqual([]);
    const answer = await step.json<{
      mfa_required: boolean;
      mfa_token: string;
      methods: string[];
    }>();
    expect(answer.mfa_required).toBe(true);
    expect(answer.methods).toContain('totp');
    const challenge = await send(`${tenant.base}/v1/auth/mfa/challenge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mfa_token: answer.mfa_token, code: codeAt(secret, new Date(), 1) }),
    });
    expect(challenge.response.status).toBe(200);
  });

  it('five wrong guesses kill the code; unknown address, wrong and dead codes get one answer', async () => {
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    await requestCode(tenant, mailer, email);
    const code = codeFromMail(mailer.last(email, 'email_otp'));
    const bodies = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      const wrong = await post(
        tenant,
        '/v1/auth/email-otp/verify',
        { email, code: wrongCode(code) },
        { mailer, headers: { 'CF-Connecting-IP': uniqueIP() } },
      );
      expect(wrong.response.status).toBe(401);
      expect(await wrong.roundTrips()).toBeLessThanOrEqual(2);
      bodies.add(JSON.stringify(await wrong.json()));
    }
    expect(await codeRow(tenant.id, email)).toEqual({ attempts: 5, used: false });
    const dead = await post(tenant, '/v1/auth/email-otp/verify', { email, code }, { mailer });
    expect(dead.response.status).toBe(401);
    bodies.add(JSON.stringify(await dead.json()));
    const stranger = await post(
      tenant,
      '/v1/auth/email-otp/verify',
      { email: uniqueEmail(), code },
      { mailer },
    );
    expect(stranger.response.status).toBe(401);
    bodies.add(JSON.stringify(await stranger.json()));
    expect(bodies.size).toBe(1);

    // A new code starts over.
    await requestCode(tenant, mailer, email);
    const fresh = codeFromMail(mailer.last(email, 'email_otp'));
    const ok = await post(tenant, '/v1/auth/email-otp/verify', { email, code: fresh }, { mailer });
    expect(ok.response.status).toBe(200);
  });

  it('expires after 10 minutes; a newer code replaces the older', async () => {
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const clock = new ManualClock(new Date());
    const { email } = await signUp(tenant, mailer);
    await requestCode(tenant, mailer, email, clock);
    const first = codeFromMail(mailer.last(email, 'email_otp'));
    const late = new ManualClock(new Date(clock.now().getTime() + 600_000));
    const expired = await post(
      tenant,
      '/v1/auth/email-otp/verify',
      { email, code: first },
      { mailer, clock: late },
    );
    expect(expired.response.status).toBe(401);

    await requestCode(tenant, mailer, email, clock);
    const second = codeFromMail(mailer.last(email, 'email_otp'));
    if (second !== first) {
      const old = await post(
        tenant,
        '/v1/auth/email-otp/verify',
        { email, code: first },
        { mailer, clock },
      );
      expect(old.response.status).toBe(401);
    }
    const inTime = new ManualClock(new Date(clock.now().getTime() + 599_000));
    const ok = await post(
      tenant,
      '/v1/auth/email-otp/verify',
      { email, code: second },
      { mailer, clock: inTime },
    );
    expect(ok.response.status).toBe(200);
  });

  it('answers known and unknown addresses alike and mails only the known', async () => {
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    const unknown = uniqueEmail();
    const known = await requestCode(tenant, mailer, email);
    const stranger = await requestCode(tenant, mailer, unknown);
    expect(await known.json()).toEqual(await stranger.json());
    expect(await stranger.roundTrips()).toBe(await known.roundTrips());
    expect(mailer.to(unknown)).toHaveLength(0);
  });

  it('is off unless the tenant opts in', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    const sent = await post(tenant, '/v1/auth/email-otp/request', { email }, { mailer });
    expect(sent.response.status).toBe(403);
    expect((await sent.json()).error).toBe('email_otp_disabled');
    expect(mailer.to(email, 'email_otp')).toHaveLength(0);
  });

  it('limits requests to 5 an hour per address and per client address', async () => {
    await awayFromWindowEdge(3600);
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    for (let i = 0; i < 5; i += 1) {
      const sent = await post(
        tenant,
        '/v1/auth/email-otp/request',
        { email },
        { mailer, headers: { 'CF-Connecting-IP': uniqueIP() } },
      );
      expect(sent.response.status).toBe(202);
    }
    const sixth = await post(
      tenant,
      '/v1/auth/email-otp/request',
      { email },
      { mailer, headers: { 'CF-Connecting-IP': uniqueIP() } },
    );
    expect(sixth.response.status).toBe(429);
    expect(mailer.to(email, 'email_otp')).toHaveLength(5);
    const ip = uniqueIP();
    for (let i = 0; i < 5; i += 1) {
      const sent = await post(
        tenant,
        '/v1/auth/email-otp/request',
        { email: uniqueEmail() },
        { mailer, headers: { 'CF-Connecting-IP': ip } },
      );
      expect(sent.response.status).toBe(202);
    }
    const limited = await post(
      tenant,
      '/v1/auth/email-otp/request',
      { email: uniqueEmail() },
      { mailer, headers: { 'CF-Connecting-IP': ip } },
    );
    expect(limited.response.status).toBe(429);
  });

  it('limits guesses to 10 a minute per client address', async () => {
    await awayFromWindowEdge(60);
    const tenant = await makeTenant({ settings: OTP_ON });
    const mailer = new RecordingMailer();
    const ip = uniqueIP();
    for (let i = 0; i < 10; i += 1) {
      const sent = await post(
        tenant,
        '/v1/auth/email-otp/verify',
        { email: uniqueEmail(), code: '123456' },
        { mailer, headers: { 'CF-Connecting-IP': ip } },
      );
      expect(sent.response.status).toBe(401);
    }
    const limited = await post(
      tenant,
      '/v1/auth/email-otp/verify',
      { email: uniqueEmail(), code: '123456' },
      { mailer, headers: { 'CF-Connecting-IP': ip } },
    );
    expect(limited.response.status).toBe(429);
  });
});
