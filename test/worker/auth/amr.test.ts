// sessions.amr (RFC 8176) on every session-creating path, driven through the JSON API (the hosted
// pages call the same services): register and password `pwd`; TOTP `pwd otp mfa`; recovery code
// `pwd kba mfa`; email code `otp`; passkey `hwk`, with user verification `hwk mfa`.
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64url, utf8 } from '../../../src/lib/encoding.ts';
import { sql } from 'drizzle-orm';
import { makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { RecordingMailer, codeFromMail, mailSettings, post, warmUp } from '../email/helpers.ts';
import {
  ManualClock,
  PASSWORD,
  codeAt,
  enableTOTP,
  passwordLogin,
  registerUser,
  withClock,
} from '../mfa/helpers.ts';
import { SoftwareAuthenticator } from '../passkeys/authenticator.ts';
import { latestAmr } from '../pages/helpers.ts';

let tenant: TestTenant;

beforeAll(async () => {
  await warmUp();
  tenant = await makeTenant({ settings: { mail: mailSettings({ otp_sign_in_enabled: true }) } });
});

async function userId(email: string): Promise<string> {
  const result = await testDB().execute(
    sql`select id from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${email}`,
  );
  return String(result.rows[0]?.id);
}

describe('sessions.amr', () => {
  it('register and password login record pwd', async () => {
    const user = await registerUser(tenant);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd']);
    const login = await passwordLogin(tenant, user.email);
    expect(login.response.status).toBe(200);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd']);
  });

  it('the MFA step records pwd otp mfa for TOTP and pwd kba mfa for a recovery code', async () => {
    const user = await registerUser(tenant);
    const clock = new ManualClock(new Date());
    const { secret, recoveryCodes } = await enableTOTP(tenant, user, clock);
    clock.advance(30);
    const challenge = async (code: string) => {
      const login = await passwordLogin(tenant, user.email);
      const { mfa_token } = await login.json<{ mfa_token: string }>();
      return send(
        `${tenant.base}/v1/auth/mfa/challenge`,
        jsonRequest('POST', { mfa_token, code }),
        withClock(clock),
      );
    };
    expect((await challenge(codeAt(secret, clock.now()))).response.status).toBe(200);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd', 'otp', 'mfa']);
    clock.advance(1); // the newest session is the one ordered last by created_at
    expect((await challenge(recoveryCodes[0]!)).response.status).toBe(200);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd', 'kba', 'mfa']);
  });

  it('an email code sign-in records otp', async () => {
    const mailer = new RecordingMailer();
    const email = uniqueEmail();
    await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
    await post(tenant, '/v1/auth/email-otp/request', { email }, { mailer });
    const code = codeFromMail(mailer.last(email, 'email_otp'));
    const verified = await post(tenant, '/v1/auth/email-otp/verify', { email, code }, { mailer });
    expect(verified.response.status).toBe(200);
    expect(await latestAmr(tenant.id, email)).toEqual(['otp']);
  });

  it('a passkey sign-in records hwk, and hwk mfa when it verified the user', async () => {
    const user = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create('gatehouse.test');
    const options = await send(
      `${tenant.base}/v1/auth/passkeys/register/options`,
      jsonRequest('POST', {}, user.jar.header()),
    );
    const { challenge } = await options.json<{ challenge: string }>();
    const response = await authenticator.register(challenge, { origin: 'https://gatehouse.test' });
    const registered = await send(
      `${tenant.base}/v1/auth/passkeys/register/verify`,
      jsonRequest('POST', { response }, user.jar.header()),
    );
    expect(registered.response.status).toBe(201);
    const handle = encodeBase64url(utf8.encode(await userId(user.email)));
    for (const userVerified of [true, false]) {
      const opts = await send(
        `${tenant.base}/v1/auth/passkeys/authenticate/options`,
        jsonRequest('POST', {}),
      );
      const { challenge: c } = await opts.json<{ challenge: string }>();
      const assertion = await authenticator.assert(c, handle, {
        origin: 'https://gatehouse.test',
        userVerified,
      });
      const signedIn = await send(
        `${tenant.base}/v1/auth/passkeys/authenticate/verify`,
        jsonRequest('POST', { response: assertion }),
      );
      expect(signedIn.response.status).toBe(200);
      expect(await latestAmr(tenant.id, user.email)).toEqual(
        userVerified ? ['hwk', 'mfa'] : ['hwk'],
      );
    }
  });
});
