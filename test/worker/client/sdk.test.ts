// Issue 15: the SPA client SDK (packages/client) against the real Worker, not mocks: every
// method's success and error path, the typed MFA step, one GatehouseError class with the stable
// code, single-flight token renewal, token mode without cookies, and the CSRF guard that is left
// when cookies are SameSite=None: the Origin check on cookie-authenticated writes.
import { beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError, isMfaRequired } from '../../../packages/client/src/index.ts';
import { decodeTOTPSecret } from '../../../src/features/mfa/totp.ts';
import { makeTenant, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import {
  RecordingMailer,
  codeFromMail,
  mailSettings,
  tokenFromMail,
  warmUp,
} from '../email/helpers.ts';
import { codeAt, ManualClock, PASSWORD, withClock } from '../mfa/helpers.ts';
import { APP_ORIGIN, browser } from './browser.ts';

let tenant: TestTenant;

beforeAll(async () => {
  await warmUp();
  tenant = await makeTenant({
    corsOrigins: [APP_ORIGIN],
    settings: { cookieSameSite: 'None', mail: mailSettings({ otp_sign_in_enabled: true }) },
  });
  await send(`${tenant.base}/v1/auth/session`);
});

function lastMailTo(mailer: RecordingMailer, to: string) {
  const message = mailer.messages.filter((m) => m.to === to).at(-1);
  expect(message, `a mail to ${to}`).toBeDefined();
  return message!;
}

/** The refused call's GatehouseError (fails the test when the call succeeds). */
async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

async function signedUp(options: Parameters<typeof browser>[1] = {}) {
  const b = browser(tenant.slug, options);
  const email = uniqueEmail();
  const registered = await b.client.register({ email, password: PASSWORD });
  return { b, email, registered };
}

describe('@gatehouse/client against the Worker (cookie mode)', () => {
  it('registers, reads the session, lists and signs out, within the routes’ round trips', async () => {
    const { b, registered } = await signedUp();
    expect(registered.user.email).toMatch(/@example\.com$/);
    expect(await b.roundTripsOf('POST', '/v1/auth/register')).toEqual([expect.any(Number)]);
    const session = await b.client.session();
    expect(session.user?.id).toBe(registered.user.id);
    expect(await b.roundTripsOf('GET', '/v1/auth/session')).toEqual([1]);
    const { sessions } = await b.client.sessions.list();
    expect(sessions.map((s) => s.current)).toEqual([true]);
    expect(await b.roundTripsOf('GET', '/v1/auth/sessions')).toEqual([2]);
    expect(await b.client.logout()).toEqual({ status: 'signed_out' });
    expect(await b.roundTripsOf('POST', '/v1/auth/logout')).toEqual([1]);
    const after = await refusal(b.client.session());
    expect([after.status, after.error]).toEqual([401, 'unauthorized']);
  });

  it('sets the SameSite=None session cookie Secure, as browsers require', async () => {
    const { b } = await signedUp();
    const setCookie = b.sent[0]!.sent.response.headers.get('Set-Cookie') ?? '';
    expect(setCookie).toMatch(/SameSite=None/i);
    expect(setCookie).toMatch(/;\s*Secure/i);
  });

  it('throws one GatehouseError with the stable code: taken email, bad password, bad input', async () => {
    const { email } = await signedUp();
    const b = browser(tenant.slug);
    const taken = await refusal(b.client.register({ email, password: PASSWORD }));
    expect([taken.status, taken.error]).toEqual([409, 'email_taken']);
    const wrong = await refusal(b.client.login({ email, password: 'not the password' }));
    expect([wrong.status, wrong.error]).toEqual([401, 'invalid_credentials']);
    const invalid = await refusal(b.client.login({ email: '', password: '' }));
    expect([invalid.status, invalid.error]).toEqual([400, 'invalid_request']);
    const signedIn = await b.client.login({ email, password: PASSWORD });
    expect(isMfaRequired(signedIn)).toBe(false);
  });

  it('renews with ten concurrent getAccessToken() calls through exactly one refresh', async () => {
    const { b } = await signedUp();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => b.client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(b.sent.filter((s) => s.path.endsWith('/v1/auth/token'))).toHaveLength(1);
    // Cached afterwards: no request at all.
    expect(await b.client.getAccessToken()).toBe(tokens[0]);
    expect(b.sent.filter((s) => s.path.endsWith('/v1/auth/token'))).toHaveLength(1);
    const signedOut = browser(tenant.slug);
    const refused = await refusal(signedOut.client.getAccessToken());
    expect(refused.status).toBe(401);
  });

  it('revokes one session, then the others', async () => {
    const { b, email } = await signedUp();
    const second = browser(tenant.slug);
    await second.client.login({ email, password: PASSWORD });
    const third = browser(tenant.slug);
    await third.client.login({ email, password: PASSWORD });
    const others = (await b.client.sessions.list()).sessions.filter((s) => !s.current);
    expect(others).toHaveLength(2);
    expect(await b.client.sessions.revoke(others[0]!.id)).toEqual({ status: 'revoked' });
    expect((await b.client.sessions.revokeOthers()).revoked).toBe(1);
    expect((await refusal(third.client.session())).status).toBe(401);
    const unknown = await refusal(b.client.sessions.revoke('not-a-session'));
    expect(unknown.error).toBe('not_found');
  });

  it('changes the password, refusing a wrong current one', async () => {
    const { b } = await signedUp();
    const wrong = await refusal(
      b.client.password.change({ current_password: 'nope', new_password: 'a fresh long one' }),
    );
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(wrong.status).toBeLessThan(500);
    const changed = await b.client.password.change({
      current_password: PASSWORD,
      new_password: 'violet staple engine',
    });
    expect(changed.status).toBe('changed');
  });

  it('forgot → reset and verify-email with mailed tokens; bad tokens refused', async () => {
    const mailer = new RecordingMailer();
    const mailing = { app: { overrideDeps: () => ({ mail: mailer }) } };
    const b = browser(tenant.slug, { send: mailing });
    const email = uniqueEmail();
    await b.client.register({ email, password: PASSWORD });
    const verifyToken = tokenFromMail(lastMailTo(mailer, email));
    expect(await b.client.email.verify({ token: verifyToken })).toEqual({ status: 'verified' });
    const badVerify = await refusal(b.client.email.verify({ token: verifyToken }));
    expect(badVerify.status).toBe(400);
    expect(await b.client.email.resendVerification()).toEqual({ status: expect.any(String) });
    expect((await b.client.password.forgot({ email })).status).toBeDefined();
    const resetToken = tokenFromMail(lastMailTo(mailer, email));
    const reset = await b.client.password.reset({
      token: resetToken,
      new_password: 'violet staple engine',
    });
    expect(reset.status).toBe('reset');
    const reused = await refusal(
      b.client.password.reset({ token: resetToken, new_password: 'another long one' }),
    );
    expect(reused.status).toBe(400);
    // Every session was revoked by the reset.
    expect((await refusal(b.client.session())).status).toBe(401);
  });

  it('signs in with an emailed code, refusing a wrong one', async () => {
    const mailer = new RecordingMailer();
    const mailing = { app: { overrideDeps: () => ({ mail: mailer }) } };
    const { email } = await signedUp();
    const b = browser(tenant.slug, { send: mailing });
    await b.client.emailCode.request({ email });
    const wrong = await refusal(b.client.emailCode.verify({ email, code: '000000' }));
    expect(wrong.status).toBe(401);
    const signedIn = await b.client.emailCode.verify({
      email,
      code: codeFromMail(lastMailTo(mailer, email)),
    });
    expect(isMfaRequired(signedIn)).toBe(false);
    expect((await b.client.session()).user?.email).toBe(email);
  });

  it('enrols TOTP, then login answers with the typed MFA step that completeMfa finishes', async () => {
    // A hand-moved clock: each TOTP code below is from a step of its own (codes are single-use).
    const clock = new ManualClock(new Date());
    const { b, email } = await signedUp({ send: withClock(clock) });
    expect((await b.client.mfa.status()) as object).toBeTypeOf('object');
    const enrolment = await b.client.mfa.enrollTOTP();
    const secret = decodeTOTPSecret(enrolment.secret as string);
    const bad = await refusal(b.client.mfa.verifyTOTP({ code: '000000' }));
    expect(bad.status).toBe(401);
    const enabled = await b.client.mfa.verifyTOTP({ code: codeAt(secret, clock.now()) });
    expect(enabled.recovery_codes).toHaveLength(10);
    expect(await b.client.mfa.recoveryCodesRemaining()).toEqual({ remaining: 10 });
    clock.advance(30);
    const regenerated = await b.client.mfa.regenerateRecoveryCodes({
      code: codeAt(secret, clock.now()),
    });
    expect(regenerated.recovery_codes).toHaveLength(10);

    const other = browser(tenant.slug);
    const step = await other.client.login({ email, password: PASSWORD });
    if (!isMfaRequired(step)) throw new Error('expected the second-factor step');
    expect(step.methods).toContain('totp');
    const wrong = await refusal(
      other.client.completeMfa({ mfa_token: step.mfa_token, code: '000000' }),
    );
    expect(wrong.status).toBe(401);
    const recovery = (regenerated.recovery_codes as string[])[0]!;
    const done = await other.client.completeMfa({ mfa_token: step.mfa_token, code: recovery });
    expect(done.user).toBeDefined();
    expect((await other.client.session()).user?.email).toBe(email);

    const refused = await refusal(b.client.mfa.disableTOTP({ code: '000000' }));
    expect(refused.status).toBe(401);
    clock.advance(30);
    expect(await b.client.mfa.disableTOTP({ code: codeAt(secret, clock.now()) })).toEqual({
      status: 'disabled',
    });
  });

  it('lists, renames and removes passkeys (none yet: unknown ids refused)', async () => {
    const { b } = await signedUp();
    expect(await b.client.passkeys.list()).toEqual({ passkeys: [] });
    const id = crypto.randomUUID();
    expect((await refusal(b.client.passkeys.rename(id, { name: 'x' }))).status).toBe(404);
    expect((await refusal(b.client.passkeys.remove(id))).status).toBe(404);
  });

  it('lists and switches organizations; consents list and revoke', async () => {
    const b = browser(tenant.slug);
    await b.client.register({
      email: uniqueEmail(),
      password: PASSWORD,
      organization_name: 'Acme',
    });
    const orgs = await b.client.organizations.list();
    expect(orgs.organizations).toHaveLength(1);
    const switched = await b.client.organizations.switch({
      organization_id: orgs.organizations[0]!.id,
    });
    expect(switched.role).toBe('owner');
    const notMember = await refusal(
      b.client.organizations.switch({ organization_id: crypto.randomUUID() }),
    );
    expect(notMember.status).toBe(404);
    expect(await b.client.consents.list()).toEqual({ consents: [] });
    const unknownClient = await refusal(b.client.consents.revoke('no-such-client'));
    expect(unknownClient.status).toBe(404);
  });

  it('reads, changes, exports and erases the profile, and sets and removes the avatar', async () => {
    const { b, email } = await signedUp();
    expect((await b.client.profile.get()).user.email).toBe(email);
    const changed = await b.client.profile.update({ name: 'Ada', locale: 'en-GB' });
    expect([changed.user.name, changed.user.locale]).toEqual(['Ada', 'en-GB']);
    const badLocale = await refusal(b.client.profile.update({ locale: 'not a locale!' }));
    expect([badLocale.status, badLocale.error]).toEqual([400, 'invalid_request']);
    // The smallest PNG signature the service sniffs, as raw bytes (not JSON).
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const avatar = await b.client.profile.setAvatar(new Blob([png], { type: 'image/png' }));
    expect(avatar.avatar_url).toMatch(/\/v1\/avatars\//);
    const notImage = await refusal(
      b.client.profile.setAvatar(new Blob(['<svg/>'], { type: 'image/png' })),
    );
    expect(notImage.status).toBe(415);
    await b.client.profile.removeAvatar();
    expect((await b.client.profile.get()).user.avatar_url).toBeNull();
    const exported = await b.client.profile.export();
    expect(JSON.stringify(exported)).toContain(email);
    await b.client.profile.erase();
    const gone = await refusal(b.client.session());
    expect(gone.status).toBe(401);
  });

  it('lists and unlinks identities, and builds the provider start URL', async () => {
    const { b } = await signedUp();
    expect(await b.client.identities.list()).toEqual({ identities: [] });
    const unknown = await refusal(b.client.identities.unlink(crypto.randomUUID()));
    expect(unknown.status).toBe(404);
    const url = new URL(
      b.client.identities.startURL('google', { redirectTo: APP_ORIGIN + '/', intent: 'link' }),
    );
    expect(url.pathname).toBe(`/t/${tenant.slug}/v1/auth/oauth/google/start`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      redirect_to: APP_ORIGIN + '/',
      intent: 'link',
    });
  });

  it('refuses every cookie-authenticated write from an unlisted origin, changing nothing', async () => {
    const { b, email } = await signedUp();
    // The same cookie (SameSite=None: the browser sends it cross-site), sent by a foreign page.
    const evil = browser(tenant.slug, { origin: 'https://evil.example' });
    for (const [name, value] of b.jar.cookies) evil.jar.cookies.set(name, value);
    for (const write of [
      () =>
        evil.client.password.change({
          current_password: PASSWORD,
          new_password: 'pwned pwned pwned',
        }),
      () => evil.client.sessions.revokeOthers(),
      () => evil.client.organizations.switch({ organization_id: crypto.randomUUID() }),
      () => evil.client.getAccessToken(),
      () => evil.client.logout(),
    ]) {
      const refused = await refusal(write());
      expect([refused.status, refused.error]).toEqual([403, 'origin_not_allowed']);
    }
    // Reads answer, but without CORS headers the foreign page cannot see them.
    const read = await evil.client.sessions.list();
    expect(read.sessions).toHaveLength(1);
    const lastResponse = evil.sent.at(-1)!.sent.response;
    expect(lastResponse.headers.get('Access-Control-Allow-Origin')).toBeNull();
    // Nothing changed: the password and the session still work.
    expect((await b.client.session()).user?.email).toBe(email);
    await browser(tenant.slug).client.login({ email, password: PASSWORD });
  });
});

describe('@gatehouse/client in token mode (no cookies at all)', () => {
  it('signs up, reads the session by bearer, renews by refresh token once, and signs out', async () => {
    const b = browser(tenant.slug, { mode: 'token', cookies: false });
    const email = uniqueEmail();
    const registered = await b.client.register({ email, password: PASSWORD });
    if (!('tokens' in registered)) throw new Error('expected tokens');
    expect(registered.tokens?.token_type).toBe('Bearer');
    expect(b.sent[0]!.sent.response.headers.get('Set-Cookie')).toBeNull();
    expect((await b.client.session()).user?.email).toBe(email);
    const { sessions } = await b.client.sessions.list();
    expect(sessions).toHaveLength(1);
    // The bearer costs what the cookie does: the session load and the listing.
    expect(await b.roundTripsOf('GET', '/v1/auth/sessions')).toEqual([2]);
    const first = await b.client.getAccessToken();
    expect(b.sent.filter((s) => s.path.endsWith('/v1/auth/token'))).toHaveLength(0);
    expect(first).toBe(registered.tokens?.access_token);

    expect(await b.client.logout()).toEqual({ status: 'signed_out' });
    const out = await refusal(b.client.session());
    expect(out.status).toBe(401);
  });

  it('runs one refresh-token grant for ten concurrent callers once the token is near expiry', async () => {
    // renewBeforeSeconds larger than the access token's life: every call is a renewal.
    const b2 = browser(tenant.slug, { mode: 'token', cookies: false, renewBeforeSeconds: 1e6 });
    const email = uniqueEmail();
    await b2.client.register({ email, password: PASSWORD });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => b2.client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    const grants = b2.sent.filter((s) => s.path.endsWith('/v1/auth/token'));
    expect(grants).toHaveLength(1);
    expect(await grants[0]!.sent.roundTrips()).toBeLessThanOrEqual(2);
    // The rotated refresh token was kept: the next renewal works too.
    const next = await b2.client.getAccessToken();
    expect(next).not.toBe(tokens[0]);
    expect((await b2.client.session()).user?.email).toBe(email);
  });

  it('reaches every session route by bearer: TOTP enrolment, organizations, passkeys', async () => {
    const b = browser(tenant.slug, { mode: 'token', cookies: false });
    await b.client.register({ email: uniqueEmail(), password: PASSWORD, organization_name: 'T' });
    const enrolment = await b.client.mfa.enrollTOTP();
    expect(enrolment.secret).toBeTypeOf('string');
    expect((await b.client.organizations.list()).organizations).toHaveLength(1);
    expect(await b.client.passkeys.list()).toEqual({ passkeys: [] });
    // A forged or malformed bearer is refused before anything is loaded or written.
    const forged = await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
      method: 'POST',
      headers: { Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln' },
    });
    expect([forged.response.status, (await forged.json()).error]).toEqual([401, 'invalid_token']);
    const malformed = await send(`${tenant.base}/v1/auth/sessions`, {
      headers: { Authorization: 'Basic abc' },
    });
    expect(malformed.response.status).toBe(401);
  });

  it('ends a sign-in that must enrol TOTP first with tokens, not a cookie', async () => {
    const required = await makeTenant({
      corsOrigins: [APP_ORIGIN],
      settings: { mfa: { policy: 'required', adminRoles: [] } },
    });
    const clock = new ManualClock(new Date());
    const b = browser(required.slug, { mode: 'token', cookies: false, send: withClock(clock) });
    const email = uniqueEmail();
    await b.client.register({ email, password: PASSWORD });
    const step = await b.client.login({ email, password: PASSWORD });
    if (!isMfaRequired(step)) throw new Error('expected the enrolment step');
    expect(step.enrollment_required).toBe(true);
    const enrolment = await b.client.mfa.enrollTOTP({ mfa_token: step.mfa_token });
    const secret = decodeTOTPSecret(enrolment.secret as string);
    clock.advance(30);
    const done = await b.client.mfa.verifyTOTP({
      mfa_token: step.mfa_token,
      code: codeAt(secret, clock.now()),
    });
    expect((done as { tokens?: { token_type: string } }).tokens?.token_type).toBe('Bearer');
    expect(b.sent.at(-1)!.sent.response.headers.get('Set-Cookie')).toBeNull();
    expect((await b.client.session()).user?.email).toBe(email);
  });

  it('refuses a sign-in with the wrong password in token mode, delivering nothing', async () => {
    const { email } = await signedUp();
    const b = browser(tenant.slug, { mode: 'token', cookies: false });
    const wrong = await refusal(b.client.login({ email, password: 'wrong' }));
    expect(wrong.error).toBe('invalid_credentials');
    const noToken = await refusal(b.client.getAccessToken());
    expect(noToken.status).toBe(401);
  });
});
