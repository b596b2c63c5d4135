// Issue 14's negative cases: each refused with a 4xx (a provider that does not answer: 503),
// and nothing written — no user, identity, session, MFA token or security audit event. The
// ID token checks a certified provider never fails are driven by the rogue provider in
// test/federation/upstream.ts; expiry by moving the Worker's clock past the real token's exp.
import { describe, expect, it } from 'vitest';
import { ADMIN, bearer } from '../admin/fixtures.ts';
import { CookieJar, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  failedSignIns,
  federatedTenant,
  passwordUser,
  queueLogin,
  rogueMode,
  stateRows,
  visitCallback,
  walkToCallback,
  writtenFor,
} from './fixtures.ts';

function account() {
  const email = uniqueEmail();
  return { sub: `neg-${email}`, email, email_verified: true };
}

describe('callback refusals write nothing', () => {
  it('a replayed state is refused (single use)', async () => {
    const fed = await federatedTenant();
    await queueLogin(fed, account());
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    const cookies = jar.header();
    const first = await visitCallback(walk.callbackURL, jar);
    expect(first.response.status).toBe(303);
    const before = await writtenFor(fed.tenant.id);
    const replay = await send(walk.callbackURL, { headers: cookies });
    expect(replay.response.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_state' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    // A state that names no sign-in of ours is not a failed sign-in to record.
    expect(await failedSignIns(fed.tenant.id)).toEqual([]);
  });

  it('a wrong state, or the right state from another browser, is refused', async () => {
    const fed = await federatedTenant();
    await queueLogin(fed, account());
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    const before = await writtenFor(fed.tenant.id);
    const wrong = new URL(walk.callbackURL);
    wrong.searchParams.set('state', 'A'.repeat(43));
    const forged = await send(wrong.href, { headers: jar.header() });
    expect(forged.response.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: 'invalid_state' });
    // The attacker's browser: the right state, but not the cookie it was bound to.
    const foreign = await send(walk.callbackURL, {
      headers: { Cookie: `gatehouse_federation=${'B'.repeat(43)}` },
    });
    expect(foreign.response.status).toBe(400);
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    // The state survives both: the real browser still finishes.
    expect((await visitCallback(walk.callbackURL, jar)).response.status).toBe(303);
  });

  it('a provider error (the user declined upstream) is 403 access_denied', async () => {
    const fed = await federatedTenant();
    await queueLogin(fed, null);
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    expect(new URL(walk.callbackURL).searchParams.get('error')).toBe('access_denied');
    const before = await writtenFor(fed.tenant.id);
    const refused = await visitCallback(walk.callbackURL, jar);
    expect(refused.response.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'access_denied' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    // Only the failure's own record, within the callback's two round trips.
    expect(await failedSignIns(fed.tenant.id)).toEqual(['access_denied']);
    expect(await refused.roundTrips()).toBe(2);
  });

  it('a provider disabled between start and callback refuses the callback', async () => {
    const fed = await federatedTenant();
    await queueLogin(fed, account());
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    const patched = await send(
      `${ADMIN}/tenants/${fed.tenant.slug}/identity-providers/${fed.provider}`,
      jsonRequest('PATCH', { enabled: false }, bearer(fed.key)),
    );
    expect(patched.response.status).toBe(200);
    const before = await writtenFor(fed.tenant.id);
    const refused = await visitCallback(walk.callbackURL, jar);
    expect(refused.response.status).toBe(403);
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    expect(await failedSignIns(fed.tenant.id)).toEqual(['access_denied']);
    // And a disabled provider cannot be started.
    const start = await send(`${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start`);
    expect(start.response.status).toBe(404);
  });

  it('an ID token that has expired by the Worker clock is 401 invalid_token', async () => {
    const fed = await federatedTenant();
    await queueLogin(fed, account());
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    const before = await writtenFor(fed.tenant.id);
    const later = new Date(Date.now() + 3 * 3600 * 1000);
    // The first reading is the state's (ten minutes, still live); every later one, which is
    // what oauth4webapi's clockSkew and jose's currentDate see, is three hours on: past exp.
    let readings = 0;
    const refused = await visitCallback(walk.callbackURL, jar, {
      app: {
        overrideDeps: () => ({
          clock: { now: () => (readings++ === 0 ? new Date() : later) },
        }),
      },
    });
    expect(refused.response.status, await refused.response.clone().text()).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
  });
});

describe('ID token validation against a rogue provider', () => {
  for (const mode of ['wrong_issuer', 'wrong_audience', 'wrong_nonce', 'expired'] as const) {
    it(`refuses an ID token with ${mode.replace('_', ' ')}: 401 invalid_token`, async () => {
      const fed = await federatedTenant({ rogue: true });
      await rogueMode(fed, mode);
      const jar = new CookieJar();
      const walk = await walkToCallback(fed, jar);
      const before = await writtenFor(fed.tenant.id);
      const refused = await visitCallback(walk.callbackURL, jar);
      expect(refused.response.status, await refused.response.clone().text()).toBe(401);
      expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
      expect(await writtenFor(fed.tenant.id)).toEqual(before);
      expect(await failedSignIns(fed.tenant.id)).toEqual(['invalid_token']);
    });
  }

  it('accepts the same provider when its ID token is right (the rogue cases fail only on their fault)', async () => {
    const fed = await federatedTenant({ rogue: true });
    await rogueMode(fed, 'ok');
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar);
    const signedIn = await visitCallback(walk.callbackURL, jar);
    expect(signedIn.response.status, await signedIn.response.clone().text()).toBe(303);
  });
});

describe('start refusals', () => {
  it('redirect_to off the allow-list is 400 with no state written; an allowed origin is where the callback goes', async () => {
    const fed = await federatedTenant({ tenant: { corsOrigins: ['https://app.example.com'] } });
    const refused = await send(
      `${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start?redirect_to=${encodeURIComponent('https://evil.example.com/x')}`,
    );
    expect(refused.response.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
    expect(await stateRows(fed.tenant.id)).toBe(0);
    // A look-alike origin is not the allowed one.
    const lookalike = await send(
      `${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start?redirect_to=${encodeURIComponent('https://app.example.com.evil.example/')}`,
    );
    expect(lookalike.response.status).toBe(400);
    expect(await stateRows(fed.tenant.id)).toBe(0);

    await queueLogin(fed, account());
    const jar = new CookieJar();
    const walk = await walkToCallback(fed, jar, { redirect_to: 'https://app.example.com/after' });
    const done = await visitCallback(walk.callbackURL, jar);
    expect(done.response.status).toBe(303);
    expect(done.response.headers.get('Location')).toBe('https://app.example.com/after');
  });

  it('intent=link without a live session is 401 and writes no state', async () => {
    const fed = await federatedTenant();
    const anonymous = await send(
      `${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start?intent=link`,
    );
    expect(anonymous.response.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: 'unauthorized' });
    expect(await anonymous.roundTrips()).toBe(1);
    // A signed-out session's cookie is no better than none.
    const jar = await passwordUser(fed.tenant.base, uniqueEmail());
    const cookies = jar.header();
    const out = await send(`${fed.tenant.base}/v1/auth/logout`, {
      method: 'POST',
      headers: cookies,
    });
    expect(out.response.status).toBe(200);
    const stale = await send(`${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start?intent=link`, {
      headers: cookies,
    });
    expect(stale.response.status).toBe(401);
    expect(await stateRows(fed.tenant.id)).toBe(0);
  });

  it('an unknown provider is 404 and writes nothing', async () => {
    const fed = await federatedTenant();
    const sent = await send(`${fed.tenant.base}/v1/auth/oauth/nobody/start`);
    expect(sent.response.status).toBe(404);
    expect(await stateRows(fed.tenant.id)).toBe(0);
  });
});
