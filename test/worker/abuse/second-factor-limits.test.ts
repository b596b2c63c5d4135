// Issue 11, item 6: the README's MFA-challenge and passkey sign-in rate limits. `mfa.challenge`
// allows 10 codes per account in 15 minutes, `passkey.authenticate` 30 assertions per address a
// minute; past either, 429 before the code or the signature is checked.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { encodeBase64url, utf8 } from '../../../src/lib/encoding.ts';
import { makeTenant, testDB } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { auditTypes, codeAt, enableTOTP, passwordLogin, registerUser } from '../mfa/helpers.ts';
import { SoftwareAuthenticator } from '../passkeys/authenticator.ts';
import { awayFromWindowEdge, uniqueIP } from './helpers.ts';

const ORIGIN = 'https://gatehouse.test';
const RP_ID = 'gatehouse.test';

/** A six-digit code that is none of the codes the ±1 window accepts now. */
function wrongCode(secret: Uint8Array): string {
  const now = new Date();
  const accepted = new Set([-1, 0, 1, 2].map((offset) => codeAt(secret, now, offset)));
  for (let n = 0; ; n += 1) {
    const code = String(n).padStart(6, '0');
    if (!accepted.has(code)) return code;
  }
}

describe('MFA challenge rate limit (mfa.challenge)', () => {
  it('allows 10 codes per account in 15 minutes; the 11th is refused before the code is checked', async () => {
    // The factor lock (5 wrong codes) is switched off so that only the rate limit can refuse.
    const tenant = await makeTenant({
      settings: { lockout: { maxFailures: 5, windowSeconds: 900, durationSeconds: 0 } },
    });
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user);
    const login = await passwordLogin(tenant, user.email);
    const { mfa_token } = await login.json<{ mfa_token: string }>();
    await awayFromWindowEdge(900);
    const challenge = (code: string) =>
      send(
        `${tenant.base}/v1/auth/mfa/challenge`,
        jsonRequest('POST', { mfa_token, code }, { 'CF-Connecting-IP': uniqueIP() }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1)
      statuses.push((await challenge(wrongCode(secret))).response.status);
    expect(statuses).toEqual(Array<number>(10).fill(401));
    const refused = await challenge(wrongCode(secret));
    expect(refused.response.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.response.headers.get('RateLimit-Policy')).toBe('"mfa.challenge";q=10;w=900');
    expect(Number(refused.response.headers.get('Retry-After'))).toBeGreaterThan(0);
    // Even the right code waits: the budget is the account's, from any address.
    const right = await challenge(codeAt(secret, new Date(), 1));
    expect(right.response.status).toBe(429);
    // Only the ten checked codes were recorded as failures.
    expect(await auditTypes(tenant.id, 'security.mfa.challenge.failed')).toBe(10);

    // Another account of the tenant has its own budget.
    const other = await registerUser(tenant);
    const otherFactor = await enableTOTP(tenant, other);
    const otherLogin = await passwordLogin(tenant, other.email);
    const otherToken = (await otherLogin.json<{ mfa_token: string }>()).mfa_token;
    const fine = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', {
        mfa_token: otherToken,
        code: codeAt(otherFactor.secret, new Date(), 1),
      }),
    );
    expect(fine.response.status).toBe(200);
  });
});

describe('passkey sign-in rate limit (passkey.authenticate)', () => {
  it('allows 30 assertions per address a minute; the 31st is refused before the signature is checked', async () => {
    const tenant = await makeTenant();
    const user = await registerUser(tenant);
    const authenticator = await SoftwareAuthenticator.create(RP_ID);
    const options = await send(
      `${tenant.base}/v1/auth/passkeys/register/options`,
      jsonRequest('POST', {}, user.jar.header()),
    );
    const { challenge } = await options.json<{ challenge: string }>();
    const registered = await send(
      `${tenant.base}/v1/auth/passkeys/register/verify`,
      jsonRequest(
        'POST',
        { response: await authenticator.register(challenge, { origin: ORIGIN }), name: 'Key' },
        user.jar.header(),
      ),
    );
    expect(registered.response.status).toBe(201);
    const ids = await testDB().execute(
      sql`select id from users where tenant_id = ${tenant.id}::uuid and email_normalized = ${user.email}`,
    );
    const handle = encodeBase64url(utf8.encode(String(ids.rows[0]?.id)));

    const assertion = async () => {
      const sent = await send(
        `${tenant.base}/v1/auth/passkeys/authenticate/options`,
        jsonRequest('POST', {}),
      );
      const body = await sent.json<{ challenge: string }>();
      return (await authenticator.assert(body.challenge, handle, { origin: ORIGIN })) as {
        response: Record<string, string>;
      };
    };
    const ip = uniqueIP();
    const verify = (response: unknown, from: string) =>
      send(
        `${tenant.base}/v1/auth/passkeys/authenticate/verify`,
        jsonRequest('POST', { response }, { 'CF-Connecting-IP': from }),
      );
    // A forged signature on a real challenge: a guess the limit must count.
    const good = await assertion();
    const forged = {
      ...good,
      response: { ...good.response, signature: encodeBase64url(new Uint8Array(70)) },
    };
    await awayFromWindowEdge(60);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) statuses.push((await verify(forged, ip)).response.status);
    expect(statuses).toEqual(Array<number>(30).fill(400));
    // A genuine assertion from the same address is refused too, and signs nobody in.
    const refused = await verify(await assertion(), ip);
    expect(refused.response.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.response.headers.get('RateLimit-Policy')).toBe(
      '"passkey.authenticate";q=30;w=60',
    );
    expect(refused.response.headers.getSetCookie()).toEqual([]);
    // Another address signs in.
    const elsewhere = await verify(await assertion(), uniqueIP());
    expect(elsewhere.response.status).toBe(200);
  });
});
