// TOTP enrolment, the login's second step, replay refusal, the five-code lockout (injected
// clock), expired and foreign MFA tokens, and disabling.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  ManualClock,
  auditTypes,
  codeAt,
  enableTOTP,
  passwordLogin,
  registerUser,
  sessionCount,
  withClock,
} from './helpers.ts';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant();
  await send(`${tenant.base}/v1/auth/session`);
});

interface MfaAnswer {
  mfa_required: boolean;
  mfa_token: string;
  methods: string[];
}

describe('TOTP enrolment', () => {
  it('returns secret, otpauth URI and SVG QR code, stores the secret sealed, and activates with a first code', async () => {
    const user = await registerUser(tenant);
    const enrolled = await send(
      `${tenant.base}/v1/auth/mfa/totp/enroll`,
      jsonRequest('POST', {}, user.jar.header()),
    );
    expect(enrolled.response.status).toBe(200);
    const body = await enrolled.json<{ secret: string; otpauth_uri: string; qr_svg: string }>();
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    expect(body.qr_svg).toMatch(/^<svg/);
    expect(await enrolled.roundTrips()).toBeLessThanOrEqual(2);

    const row = await testDB().execute(sql`
      select x.secret_sealed, x.confirmed_at from mfa_totp x join users u on u.id = x.user_id
      where u.tenant_id = ${tenant.id}::uuid and u.email_normalized = ${user.email}`);
    expect(String(row.rows[0]?.secret_sealed)).toMatch(/^v2\./);
    expect(String(row.rows[0]?.secret_sealed)).not.toContain(body.secret);
    expect(row.rows[0]?.confirmed_at).toBeNull();

    const wrong = await send(
      `${tenant.base}/v1/auth/mfa/totp/verify`,
      jsonRequest('POST', { code: '000000' }, user.jar.header()),
    );
    expect(wrong.response.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_code' });

    const { decodeTOTPSecret } = await import('../../../src/features/mfa/totp.ts');
    const secret = decodeTOTPSecret(body.secret);
    const verified = await send(
      `${tenant.base}/v1/auth/mfa/totp/verify`,
      jsonRequest('POST', { code: codeAt(secret, new Date()) }, user.jar.header()),
    );
    expect(verified.response.status).toBe(200);
    const activated = await verified.json<{ status: string; recovery_codes: string[] }>();
    expect(activated.status).toBe('enabled');
    expect(activated.recovery_codes).toHaveLength(10);
    expect(new Set(activated.recovery_codes).size).toBe(10);
    expect(await verified.roundTrips()).toBeLessThanOrEqual(3);
    expect(await auditTypes(tenant.id, 'security.mfa.totp.enabled')).toBeGreaterThanOrEqual(1);

    const again = await send(
      `${tenant.base}/v1/auth/mfa/totp/enroll`,
      jsonRequest('POST', {}, user.jar.header()),
    );
    expect(again.response.status).toBe(409);
  });
});

describe('login with TOTP', () => {
  it('answers mfa_required without a session, then the challenge signs in; the token is single-use', async () => {
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user);
    const login = await passwordLogin(tenant, user.email);
    expect(login.response.status).toBe(200);
    const answer = await login.json<MfaAnswer>();
    expect(answer).toMatchObject({ mfa_required: true, methods: ['totp', 'recovery_code'] });
    expect(answer.mfa_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(login.response.headers.getSetCookie()).toEqual([]);
    expect(await login.roundTrips()).toBeLessThanOrEqual(2);

    const challenge = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      // The next step's code (inside the ±1 window): the enrolment spent the current one.
      jsonRequest('POST', { mfa_token: answer.mfa_token, code: codeAt(secret, new Date(), 1) }),
    );
    expect(challenge.response.status).toBe(200);
    expect(await challenge.roundTrips()).toBeLessThanOrEqual(2);
    const jar = new CookieJar();
    jar.store(challenge.response);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(200);
    expect(await session.json()).toMatchObject({ user: { email: user.email } });
    expect(await auditTypes(tenant.id, 'security.mfa.challenge.succeeded')).toBeGreaterThanOrEqual(
      1,
    );

    const reused = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: answer.mfa_token, code: codeAt(secret, new Date(), 1) }),
    );
    expect(reused.response.status).toBe(401);
    expect(await reused.json()).toMatchObject({ error: 'invalid_mfa_token' });
  });

  it('refuses a code of a time step already used, writing no session', async () => {
    const clock = new ManualClock(new Date('2026-11-23T10:00:05Z'));
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user, clock);
    clock.advance(30); // the enrolment code's step is spent
    const code = codeAt(secret, clock.now());
    const first = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();
    const ok = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: first.mfa_token, code }),
      withClock(clock),
    );
    expect(ok.response.status).toBe(200);
    const sessionsBefore = await sessionCount(tenant.id, user.email);

    const second = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();
    const replay = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: second.mfa_token, code }),
      withClock(clock),
    );
    expect(replay.response.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'code_reused' });
    // The previous step's code (inside the ±1 window) is older still: refused too.
    const older = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: second.mfa_token, code: codeAt(secret, clock.now(), -1) }),
      withClock(clock),
    );
    expect(older.response.status).toBe(401);
    expect(await sessionCount(tenant.id, user.email)).toBe(sessionsBefore);

    clock.advance(30);
    const next = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: second.mfa_token, code: codeAt(secret, clock.now()) }),
      withClock(clock),
    );
    expect(next.response.status).toBe(200);
  });

  it('locks the factor after five wrong codes for the tenant lockout duration', async () => {
    const clock = new ManualClock(new Date('2026-11-23T11:00:05Z'));
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user, clock);
    clock.advance(30);
    const { mfa_token } = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();
    const wrong = codeAt(secret, clock.now(), 5);
    const statuses: Array<[number, string]> = [];
    for (let i = 0; i < 5; i++) {
      const sent = await send(
        `${tenant.base}/v1/auth/mfa/challenge`,
        jsonRequest('POST', { mfa_token, code: wrong }),
        withClock(clock),
      );
      statuses.push([sent.response.status, (await sent.json<{ error: string }>()).error]);
    }
    expect(statuses.slice(0, 4)).toEqual(Array(4).fill([401, 'invalid_code']));
    expect(statuses[4]).toEqual([429, 'factor_locked']);

    const right = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token, code: codeAt(secret, clock.now()) }),
      withClock(clock),
    );
    expect(right.response.status).toBe(429);
    expect(right.response.headers.get('Retry-After')).toBe('900');
    expect(await auditTypes(tenant.id, 'security.mfa.locked')).toBeGreaterThanOrEqual(1);

    clock.advance(899);
    const stillLocked = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();
    const early = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: stillLocked.mfa_token, code: codeAt(secret, clock.now()) }),
      withClock(clock),
    );
    expect(early.response.status).toBe(429);

    clock.advance(1);
    const after = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: stillLocked.mfa_token, code: codeAt(secret, clock.now()) }),
      withClock(clock),
    );
    expect(after.response.status).toBe(200);
  });

  it('refuses an expired MFA token and another tenant’s token with 401, recording nothing', async () => {
    const clock = new ManualClock(new Date('2026-11-23T12:00:05Z'));
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user, clock);
    const { mfa_token } = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();

    const other = await makeTenant();
    const foreign = await send(
      `${other.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token, code: codeAt(secret, clock.now(), 1) }),
      withClock(clock),
    );
    expect(foreign.response.status).toBe(401);
    expect(await foreign.json()).toMatchObject({ error: 'invalid_mfa_token' });

    clock.advance(300);
    const expired = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token, code: codeAt(secret, clock.now()) }),
      withClock(clock),
    );
    expect(expired.response.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: 'invalid_mfa_token' });
    const failures = await testDB().execute(sql`
      select count(*)::int as n from mfa_lockouts l join users u on u.id = l.user_id where u.email_normalized = ${user.email}`);
    expect(Number(failures.rows[0]?.n)).toBe(0);
  });
});

describe('disabling TOTP', () => {
  it('needs a current code or the password; afterwards a login gets its session directly', async () => {
    const user = await registerUser(tenant);
    await enableTOTP(tenant, user);
    const none = await send(
      `${tenant.base}/v1/auth/mfa/totp/disable`,
      jsonRequest('POST', {}, user.jar.header()),
    );
    expect(none.response.status).toBe(400);
    const wrong = await send(
      `${tenant.base}/v1/auth/mfa/totp/disable`,
      jsonRequest('POST', { password: 'not the password' }, user.jar.header()),
    );
    expect(wrong.response.status).toBe(401);
    const badCode = await send(
      `${tenant.base}/v1/auth/mfa/totp/disable`,
      jsonRequest('POST', { code: '123456' }, user.jar.header()),
    );
    expect(badCode.response.status).toBe(401);
    const ok = await send(
      `${tenant.base}/v1/auth/mfa/totp/disable`,
      jsonRequest('POST', { password: 'correct horse battery' }, user.jar.header()),
    );
    expect(ok.response.status).toBe(200);
    expect(await auditTypes(tenant.id, 'security.mfa.totp.disabled')).toBeGreaterThanOrEqual(1);
    const login = await passwordLogin(tenant, user.email);
    expect(await login.json()).toMatchObject({ user: { email: user.email } });
    const status = await send(`${tenant.base}/v1/auth/mfa`, { headers: user.jar.header() });
    expect(await status.json()).toMatchObject({
      totp: { enabled: false },
      recovery_codes: { remaining: 0 },
    });
  });
});
