// Passkeys through the real Worker with a software authenticator: registration, usernameless
// sign-in, single-use challenges, counter regression, another tenant's credential, malformed
// responses, expiry, user verification and the MFA policy, list / rename / delete.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64url, utf8 } from '../../../src/lib/encoding.ts';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type Sent } from '../harness.ts';
import {
  ManualClock,
  auditTypes,
  codeAt,
  enableTOTP,
  passwordLogin,
  registerUser,
  sessionCount,
  withClock,
  type SignedInUser,
} from '../mfa/helpers.ts';
import { SoftwareAuthenticator } from './authenticator.ts';

const ORIGIN = 'https://gatehouse.test';
const RP_ID = 'gatehouse.test';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant();
  await send(`${tenant.base}/v1/auth/session`);
});

async function userId(email: string): Promise<string> {
  const result = await testDB().execute(
    sql`select id from users where email_normalized = ${email}`,
  );
  return String(result.rows[0]?.id);
}

async function registerPasskey(
  t: TestTenant,
  user: SignedInUser,
  authenticator: SoftwareAuthenticator,
): Promise<Sent> {
  const options = await send(
    `${t.base}/v1/auth/passkeys/register/options`,
    jsonRequest('POST', {}, user.jar.header()),
  );
  expect(options.response.status).toBe(200);
  const { challenge, rp, authenticatorSelection } = await options.json<{
    challenge: string;
    rp: { id: string };
    authenticatorSelection: { residentKey: string };
  }>();
  expect(rp.id).toBe(RP_ID);
  expect(authenticatorSelection.residentKey).toBe('required');
  const response = await authenticator.register(challenge, { origin: ORIGIN });
  return send(
    `${t.base}/v1/auth/passkeys/register/verify`,
    jsonRequest('POST', { response, name: 'Laptop' }, user.jar.header()),
  );
}

async function signInOptions(t: TestTenant, options = {}): Promise<string> {
  const sent = await send(
    `${t.base}/v1/auth/passkeys/authenticate/options`,
    jsonRequest('POST', {}),
    options,
  );
  expect(sent.response.status).toBe(200);
  const body = await sent.json<{ challenge: string; allowCredentials?: unknown[] }>();
  expect(body.allowCredentials ?? []).toEqual([]); // usernameless: any discoverable credential
  expect(await sent.roundTrips()).toBe(1);
  return body.challenge;
}

function verify(t: TestTenant, response: unknown, options = {}): Promise<Sent> {
  return send(
    `${t.base}/v1/auth/passkeys/authenticate/verify`,
    jsonRequest('POST', { response }),
    options,
  );
}

describe('passkey registration and usernameless sign-in', () => {
  it('registers, signs in without a username, refuses the replay, and stores the counter', async () => {
    const user = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    const registered = await registerPasskey(tenant, user, authenticator);
    expect(registered.response.status).toBe(201);
    const body = await registered.json<{
      passkey: { user_verified: boolean };
      recovery_codes: string[];
    }>();
    expect(body.passkey.user_verified).toBe(true);
    expect(body.recovery_codes).toHaveLength(10); // the first factor brings recovery codes
    expect(await registered.roundTrips()).toBeLessThanOrEqual(3);
    expect(await auditTypes(tenant.id, 'security.passkey.registered')).toBeGreaterThanOrEqual(1);

    const handle = encodeBase64url(utf8.encode(await userId(user.email)));
    const challenge = await signInOptions(tenant);
    const assertion = await authenticator.assert(challenge, handle, { origin: ORIGIN });
    const signedIn = await verify(tenant, assertion);
    expect(signedIn.response.status).toBe(200);
    expect(await signedIn.json()).toMatchObject({ user: { email: user.email } });
    expect(await signedIn.roundTrips()).toBeLessThanOrEqual(2);
    const jar = new CookieJar();
    jar.store(signedIn.response);
    expect(
      await (await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() })).json(),
    ).toMatchObject({
      user: { email: user.email },
    });

    const sessions = await sessionCount(tenant.id, user.email);
    const replay = await verify(tenant, assertion);
    expect(replay.response.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_challenge' });
    expect(await sessionCount(tenant.id, user.email)).toBe(sessions);
    const stored = await testDB().execute(
      sql`select counter from passkeys where credential_id = ${authenticator.id}`,
    );
    expect(Number(stored.rows[0]?.counter)).toBe(1);

    // The same credential cannot be registered twice (nor by another user).
    const twice = await registerPasskey(tenant, await registerUser(tenant), authenticator);
    expect(twice.response.status).toBe(409);
  });

  it('refuses a counter that went backwards, audits it, and writes no session', async () => {
    const user = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    await registerPasskey(tenant, user, authenticator);
    const handle = encodeBase64url(utf8.encode(await userId(user.email)));
    const first = await verify(
      tenant,
      await authenticator.assert(await signInOptions(tenant), handle, {
        origin: ORIGIN,
        counter: 10,
      }),
    );
    expect(first.response.status).toBe(200);
    const sessions = await sessionCount(tenant.id, user.email);

    for (const counter of [10, 9]) {
      const cloned = await verify(
        tenant,
        await authenticator.assert(await signInOptions(tenant), handle, {
          origin: ORIGIN,
          counter,
        }),
      );
      expect(cloned.response.status).toBe(400);
      expect(await cloned.json()).toMatchObject({ error: 'counter_regressed' });
    }
    expect(await auditTypes(tenant.id, 'security.passkey.counter_regressed')).toBe(2);
    expect(await sessionCount(tenant.id, user.email)).toBe(sessions);
    const next = await verify(
      tenant,
      await authenticator.assert(await signInOptions(tenant), handle, {
        origin: ORIGIN,
        counter: 11,
      }),
    );
    expect(next.response.status).toBe(200);
  });

  it('refuses another tenant’s credential, malformed responses, a foreign origin and an expired challenge', async () => {
    const user = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    await registerPasskey(tenant, user, authenticator);
    const handle = encodeBase64url(utf8.encode(await userId(user.email)));

    const other = await makeTenant();
    const foreign = await verify(
      other,
      await authenticator.assert(await signInOptions(other), handle, { origin: ORIGIN }),
    );
    expect(foreign.response.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ error: 'unknown_credential' });

    const good = (await authenticator.assert(await signInOptions(tenant), handle, {
      origin: ORIGIN,
    })) as {
      response: Record<string, string>;
    };
    const garbled = {
      ...good,
      response: { ...good.response, clientDataJSON: encodeBase64url(utf8.encode('{not json')) },
    };
    const malformed = await verify(tenant, garbled);
    expect(malformed.response.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'invalid_webauthn_response' });

    const notBase64 = await verify(tenant, {
      ...good,
      response: { ...good.response, signature: 'not base64url!' },
    });
    expect(notBase64.response.status).toBe(400);
    expect(await notBase64.json()).toMatchObject({ error: 'invalid_request' });

    const badSignature = await verify(tenant, {
      ...good,
      response: { ...good.response, signature: encodeBase64url(new Uint8Array(70)) },
    });
    expect(badSignature.response.status).toBe(400);
    expect(await badSignature.json()).toMatchObject({ error: 'invalid_webauthn_response' });
    expect(await auditTypes(tenant.id, 'security.passkey.login.failed')).toBeGreaterThanOrEqual(1);

    const phishing = await verify(
      tenant,
      await authenticator.assert(await signInOptions(tenant), handle, {
        origin: 'https://evil.example',
      }),
    );
    expect(phishing.response.status).toBe(400);
    expect(await phishing.json()).toMatchObject({ error: 'invalid_webauthn_response' });

    const clock = new ManualClock(new Date());
    const challenge = await signInOptions(tenant, withClock(clock));
    clock.advance(301);
    const late = await verify(
      tenant,
      await authenticator.assert(challenge, handle, { origin: ORIGIN }),
      withClock(clock),
    );
    expect(late.response.status).toBe(400);
    expect(await late.json()).toMatchObject({ error: 'invalid_challenge' });
    const counter = await testDB().execute(
      sql`select counter from passkeys where credential_id = ${authenticator.id}`,
    );
    expect(Number(counter.rows[0]?.counter)).toBe(0);
  });
});

describe('passkeys and the MFA policy', () => {
  it('a password login of a passkey user asks for the second factor', async () => {
    const user = await registerUser(tenant);
    await registerPasskey(tenant, user, await SoftwareAuthenticator.create(RP_ID));
    const login = await passwordLogin(tenant, user.email);
    expect(await login.json()).toMatchObject({
      mfa_required: true,
      methods: ['passkey', 'recovery_code'],
    });
  });

  it('a passkey with user verification satisfies a required policy; without it, TOTP must follow', async () => {
    const strict = await makeTenant();
    await testDB().execute(
      sql`update tenants set settings = settings || '{"mfa":{"policy":"required"}}'::jsonb where id = ${strict.id}::uuid`,
    );
    const user = await registerUser(strict);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    expect((await registerPasskey(strict, user, authenticator)).response.status).toBe(201);
    const handle = encodeBase64url(utf8.encode(await userId(user.email)));
    const verified = await verify(
      strict,
      await authenticator.assert(await signInOptions(strict), handle, { origin: ORIGIN }),
    );
    expect(await verified.json()).toMatchObject({ user: { email: user.email } });

    const unverifiedAlone = await verify(
      strict,
      await authenticator.assert(await signInOptions(strict), handle, {
        origin: ORIGIN,
        userVerified: false,
      }),
    );
    expect(unverifiedAlone.response.status).toBe(403);

    const { secret } = await enableTOTP(strict, user);
    const unverified = await verify(
      strict,
      await authenticator.assert(await signInOptions(strict), handle, {
        origin: ORIGIN,
        userVerified: false,
      }),
    );
    const answer = await unverified.json<{
      mfa_required: boolean;
      mfa_token: string;
      methods: string[];
    }>();
    expect(answer).toMatchObject({ mfa_required: true, methods: ['totp', 'recovery_code'] });
    expect(unverified.response.headers.getSetCookie()).toEqual([]);
    const done = await send(
      `${strict.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: answer.mfa_token, code: codeAt(secret, new Date(), 1) }),
    );
    expect(done.response.status).toBe(200);
  });
});

describe('managing passkeys', () => {
  it('lists, renames and deletes only the user’s own passkeys', async () => {
    const user = await registerUser(tenant);
    const other = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    await registerPasskey(tenant, user, authenticator);
    const list = await send(`${tenant.base}/v1/auth/passkeys`, { headers: user.jar.header() });
    const { passkeys } = await list.json<{ passkeys: Array<{ id: string; name: string }> }>();
    expect(passkeys).toHaveLength(1);
    const id = passkeys[0]!.id;

    const theirs = await send(
      `${tenant.base}/v1/auth/passkeys/${id}`,
      jsonRequest('PATCH', { name: 'Mine now' }, other.jar.header()),
    );
    expect(theirs.response.status).toBe(404);
    const renamed = await send(
      `${tenant.base}/v1/auth/passkeys/${id}`,
      jsonRequest('PATCH', { name: 'Work laptop' }, user.jar.header()),
    );
    expect(renamed.response.status).toBe(200);
    const deleteTheirs = await send(`${tenant.base}/v1/auth/passkeys/${id}`, {
      method: 'DELETE',
      headers: other.jar.header(),
    });
    expect(deleteTheirs.response.status).toBe(404);
    const deleted = await send(`${tenant.base}/v1/auth/passkeys/${id}`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(deleted.response.status).toBe(200);
    expect(await auditTypes(tenant.id, 'security.passkey.removed')).toBeGreaterThanOrEqual(1);

    const handle = encodeBase64url(utf8.encode(await userId(user.email)));
    const gone = await verify(
      tenant,
      await authenticator.assert(await signInOptions(tenant), handle, { origin: ORIGIN }),
    );
    expect(gone.response.status).toBe(400);
    expect(await gone.json()).toMatchObject({ error: 'unknown_credential' });
    const status = await send(`${tenant.base}/v1/auth/mfa`, { headers: user.jar.header() });
    expect(await status.json()).toMatchObject({ passkeys: 0, recovery_codes: { remaining: 0 } });
  });
});
