// Issue 12, item 5: password reset. forgot → mail → the token from the mail → reset: the old
// password is refused, the new one accepted, every other session dead; known and unknown
// addresses get the same status and body; limits at 5 an hour; used, expired and another
// tenant's tokens refused with nothing written.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { awayFromWindowEdge, uniqueIP } from '../abuse/helpers.ts';
import { ManualClock } from '../mfa/helpers.ts';
import {
  NEW_PASSWORD,
  PASSWORD,
  RecordingMailer,
  post,
  tokenFromMail,
  warmUp,
  mailSettings,
} from './helpers.ts';

beforeAll(warmUp);

async function signUp(
  tenant: TestTenant,
  mailer: RecordingMailer,
): Promise<{ email: string; jar: CookieJar }> {
  const email = uniqueEmail();
  const sent = await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { email, jar };
}

async function state(tenantId: string, email: string) {
  const result = await testDB().execute(sql`
    select u.password_hash, u.email_verified,
      (select count(*)::int from sessions s where s.user_id = u.id and s.revoked_at is null) as live_sessions,
      (select count(*)::int from audit_events a where a.tenant_id = u.tenant_id and a.type = 'security.password.reset') as resets
    from users u where u.tenant_id = ${tenantId}::uuid and u.email_normalized = ${email}`);
  const row = result.rows[0]!;
  return {
    hash: String(row.password_hash),
    verified: row.email_verified === true || row.email_verified === 't',
    liveSessions: Number(row.live_sessions),
    resets: Number(row.resets),
  };
}

describe('password reset', () => {
  it('forgot → mail → reset: old password refused, new accepted, every session dead, address verified', async () => {
    const tenant = await makeTenant({ name: 'Acme' });
    const mailer = new RecordingMailer();
    const { email, jar } = await signUp(tenant, mailer);
    // A second signed-in device.
    const other = await post(tenant, '/v1/auth/login', { email, password: PASSWORD }, { mailer });
    expect(other.response.status).toBe(200);
    const otherJar = new CookieJar();
    otherJar.store(other.response);

    const issued = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, otherJar.header()),
    );
    expect(issued.response.status).toBe(200);
    const { refresh_token: refreshToken } = await issued.json<{ refresh_token: string }>();
    const forgot = await post(
      tenant,
      '/v1/auth/password/forgot',
      { email: email.toUpperCase() },
      { mailer },
    );
    expect(forgot.response.status).toBe(202);
    expect(await forgot.roundTrips()).toBeLessThanOrEqual(2);
    const mail = mailer.last(email, 'password_reset');
    expect(mail.text).toContain(`https://gatehouse.test/t/${tenant.slug}/reset-password?token=`);
    expect(mail.text).toContain('30 minutes');

    const reset = await post(
      tenant,
      '/v1/auth/password/reset',
      { token: tokenFromMail(mail), new_password: NEW_PASSWORD },
      { mailer },
    );
    expect(reset.response.status).toBe(200);
    expect(await reset.json()).toEqual({ status: 'reset', sessions_revoked: 'all' });
    expect(await reset.roundTrips()).toBeLessThanOrEqual(2);
    expect(mailer.to(email, 'password_changed')).toHaveLength(1);

    const after = await state(tenant.id, email);
    expect(after).toMatchObject({ verified: true, liveSessions: 0, resets: 1 });
    for (const j of [jar, otherJar]) {
      const me = await send(`${tenant.base}/v1/auth/session`, { headers: j.header() });
      expect(me.response.status).toBe(401);
    }
    const refreshed = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: refreshToken }),
    );
    expect(refreshed.response.status).toBe(400);
    const oldPassword = await post(
      tenant,
      '/v1/auth/login',
      { email, password: PASSWORD },
      { mailer },
    );
    expect(oldPassword.response.status).toBe(401);
    const newPassword = await post(
      tenant,
      '/v1/auth/login',
      { email, password: NEW_PASSWORD },
      { mailer },
    );
    expect(newPassword.response.status).toBe(200);
  });

  it('answers a known and an unknown address with the same status and body, mailing only the known', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    const unknown = uniqueEmail();
    const known = await post(tenant, '/v1/auth/password/forgot', { email }, { mailer });
    const stranger = await post(tenant, '/v1/auth/password/forgot', { email: unknown }, { mailer });
    expect(known.response.status).toBe(202);
    expect(stranger.response.status).toBe(202);
    expect(await known.json()).toEqual(await stranger.json());
    expect(await stranger.roundTrips()).toBe(await known.roundTrips());
    expect(mailer.to(email, 'password_reset')).toHaveLength(1);
    expect(mailer.to(unknown)).toHaveLength(0);
    const tokens = await testDB().execute(
      sql`select count(*)::int as n from email_tokens where tenant_id = ${tenant.id}::uuid and purpose = 'password_reset'`,
    );
    expect(Number(tokens.rows[0]!.n)).toBe(1);
  });

  it("refuses a used, an expired, a superseded and another tenant's token with one code, writing nothing", async () => {
    const tenant = await makeTenant({
      settings: { mail: mailSettings({ password_reset_ttl_seconds: 600 }) },
    });
    const other = await makeTenant();
    const mailer = new RecordingMailer();
    const clock = new ManualClock(new Date());
    const { email } = await signUp(tenant, mailer);
    const before = await state(tenant.id, email);

    await post(tenant, '/v1/auth/password/forgot', { email }, { mailer, clock });
    const first = tokenFromMail(mailer.last(email, 'password_reset'));
    expect(mailer.last(email, 'password_reset').text).toContain('10 minutes');
    await post(tenant, '/v1/auth/password/forgot', { email }, { mailer, clock });
    const second = tokenFromMail(mailer.last(email, 'password_reset'));

    const attempts = [
      { t: tenant, token: first, clock }, // superseded by the second
      { t: other, token: second, clock }, // another tenant's
      {
        t: tenant,
        token: second,
        clock: new ManualClock(new Date(clock.now().getTime() + 600_000)),
      }, // expired
      { t: tenant, token: 'A'.repeat(43), clock }, // unknown
    ];
    for (const attempt of attempts) {
      const sent = await post(
        attempt.t,
        '/v1/auth/password/reset',
        { token: attempt.token, new_password: NEW_PASSWORD },
        { mailer, clock: attempt.clock },
      );
      expect(sent.response.status).toBe(400);
      expect((await sent.json()).error).toBe('invalid_reset_token');
    }
    expect(await state(tenant.id, email)).toEqual(before);

    // One second before expiry it works, once.
    const inTime = new ManualClock(new Date(clock.now().getTime() + 599_000));
    const ok = await post(
      tenant,
      '/v1/auth/password/reset',
      { token: second, new_password: NEW_PASSWORD },
      { mailer, clock: inTime },
    );
    expect(ok.response.status).toBe(200);
    const afterReset = await state(tenant.id, email);
    const replay = await post(
      tenant,
      '/v1/auth/password/reset',
      { token: second, new_password: 'another fine phrase' },
      { mailer, clock: inTime },
    );
    expect(replay.response.status).toBe(400);
    expect((await replay.json()).error).toBe('invalid_reset_token');
    expect(await state(tenant.id, email)).toEqual(afterReset);
  });

  it('applies the tenant password policy and keeps the token for a better password', async () => {
    const tenant = await makeTenant({
      settings: {
        passwordPolicy: { minLength: 12, requireClasses: [], rejectEmailLocalPart: false },
      },
    });
    const mailer = new RecordingMailer();
    const email = uniqueEmail();
    expect(
      (
        await post(
          tenant,
          '/v1/auth/register',
          { email, password: 'long enough phrase' },
          { mailer },
        )
      ).response.status,
    ).toBe(201);
    await post(tenant, '/v1/auth/password/forgot', { email }, { mailer });
    const token = tokenFromMail(mailer.last(email, 'password_reset'));
    const short = await post(
      tenant,
      '/v1/auth/password/reset',
      { token, new_password: 'short pass' },
      { mailer },
    );
    expect(short.response.status).toBe(400);
    expect((await short.json()).error).toBe('password_too_short');
    const good = await post(
      tenant,
      '/v1/auth/password/reset',
      { token, new_password: NEW_PASSWORD },
      { mailer },
    );
    expect(good.response.status).toBe(200);
  });

  it('clears a lockout: the reset proves control of the address', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    for (let i = 0; i < 5; i += 1)
      await post(tenant, '/v1/auth/login', { email, password: 'wrong horse battery' }, { mailer });
    const locked = await post(tenant, '/v1/auth/login', { email, password: PASSWORD }, { mailer });
    expect(locked.response.status).toBe(401);
    await post(tenant, '/v1/auth/password/forgot', { email }, { mailer });
    const token = tokenFromMail(mailer.last(email, 'password_reset'));
    expect(
      (
        await post(
          tenant,
          '/v1/auth/password/reset',
          { token, new_password: NEW_PASSWORD },
          { mailer },
        )
      ).response.status,
    ).toBe(200);
    const signedIn = await post(
      tenant,
      '/v1/auth/login',
      { email, password: NEW_PASSWORD },
      { mailer },
    );
    expect(signedIn.response.status).toBe(200);
  });

  it('limits requests to 5 an hour per address and per client address, charged before any write', async () => {
    await awayFromWindowEdge(3600);
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const { email } = await signUp(tenant, mailer);
    // Per address: five from five different clients pass, the sixth is refused.
    for (let i = 0; i < 5; i += 1) {
      const sent = await post(
        tenant,
        '/v1/auth/password/forgot',
        { email },
        { mailer, headers: { 'CF-Connecting-IP': uniqueIP() } },
      );
      expect(sent.response.status).toBe(202);
    }
    const sixth = await post(
      tenant,
      '/v1/auth/password/forgot',
      { email },
      { mailer, headers: { 'CF-Connecting-IP': uniqueIP() } },
    );
    expect(sixth.response.status).toBe(429);
    expect(mailer.to(email, 'password_reset')).toHaveLength(5);
    const events = await testDB().execute(sql`select count(*)::int as n from audit_events
      where tenant_id = ${tenant.id}::uuid and type = 'security.password.reset_requested'`);
    expect(Number(events.rows[0]!.n)).toBe(5);

    // Per client address: five different addresses from one client pass, the sixth is refused.
    const ip = uniqueIP();
    for (let i = 0; i < 5; i += 1) {
      const sent = await post(
        tenant,
        '/v1/auth/password/forgot',
        { email: uniqueEmail() },
        { mailer, headers: { 'CF-Connecting-IP': ip } },
      );
      expect(sent.response.status).toBe(202);
    }
    const limited = await post(
      tenant,
      '/v1/auth/password/forgot',
      { email: uniqueEmail() },
      { mailer, headers: { 'CF-Connecting-IP': ip } },
    );
    expect(limited.response.status).toBe(429);
  });
});
