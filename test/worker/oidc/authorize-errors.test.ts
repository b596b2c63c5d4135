// /oauth2/authorize refusals (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 7636 §4.4.1): before the
// redirect URI is trusted, a page and never a redirect; after, an error sent back to the client.
// Each case checks that no code was issued.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CookieJar } from '../fixtures.ts';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { send, type Sent } from '../harness.ts';
import { authorizeURL, count, makeClient, pkce, signedIn, type TestClient } from './fixtures.ts';

let tenant: TestTenant;
let client: TestClient;
let jar: CookieJar;

beforeAll(async () => {
  tenant = await makeTenant();
  client = await makeClient(tenant);
  await send(`${tenant.base}/.well-known/jwks.json`);
  jar = (await signedIn(tenant)).jar;
});

const codesOf = (c: TestClient) =>
  count(sql`select count(*)::int as n from oauth_codes where client_id = ${c.id}::uuid`);

async function expectPage(sent: Sent): Promise<void> {
  expect(sent.response.status).toBe(400);
  expect(sent.response.headers.get('Location')).toBeNull();
  expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
  expect(sent.response.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
}

function clientError(sent: Sent, client: TestClient): URLSearchParams {
  expect(sent.response.status).toBe(302);
  const location = new URL(sent.response.headers.get('Location')!);
  expect(`${location.origin}${location.pathname}`).toBe(client.redirectURI);
  expect(location.searchParams.get('code')).toBeNull();
  expect(location.searchParams.get('iss')).toBe(`https://gatehouse.test/t/${tenant.slug}`);
  return location.searchParams;
}

describe('before the redirect URI is trusted: a page, never a redirect', () => {
  const nearMisses = [
    ['unregistered', 'https://evil.example.net/callback'],
    ['trailing slash', 'https://app.example.com/callback/'],
    ['other port', 'https://app.example.com:8443/callback'],
    ['other case in the path', 'https://app.example.com/Callback'],
    ['other case in the host', 'https://APP.example.com/callback'],
    ['extra query', 'https://app.example.com/callback?x=1'],
    ['loopback with another path', 'http://127.0.0.1:9999/other'],
  ] as const;
  for (const [what, uri] of nearMisses) {
    it(`refuses a redirect_uri that is a near miss (${what})`, async () => {
      const sent = await send(authorizeURL(tenant, client, { redirect_uri: uri }), {
        headers: jar.header(),
      });
      await expectPage(sent);
      expect(await codesOf(client)).toBe(0);
    });
  }

  it('refuses an unknown client and a missing redirect_uri or client_id on a page', async () => {
    await expectPage(await send(authorizeURL(tenant, { ...client, clientId: 'nope' })));
    await expectPage(await send(authorizeURL(tenant, client, { redirect_uri: '' })));
    await expectPage(await send(authorizeURL(tenant, client, { client_id: '' })));
    expect(await codesOf(client)).toBe(0);
  });

  it('refuses a parameter sent twice on a page (RFC 6749 §3.1)', async () => {
    const twice = `${authorizeURL(tenant, client)}&redirect_uri=${encodeURIComponent('https://evil.example.net/')}`;
    await expectPage(await send(twice, { headers: jar.header() }));
    expect(await codesOf(client)).toBe(0);
  });

  it('accepts the registered loopback redirect on any port (RFC 8252 §7.3)', async () => {
    const native = await makeClient(tenant);
    const sent = await send(
      authorizeURL(tenant, native, { redirect_uri: 'http://127.0.0.1:51234/cb' }),
      { headers: jar.header() },
    );
    expect(sent.response.status).toBe(302);
    expect(new URL(sent.response.headers.get('Location')!).port).toBe('51234');
  });
});

describe('after: errors go back to the client with state and iss', () => {
  it('a public client without PKCE gets invalid_request and no code', async () => {
    const pub = await makeClient(tenant, { type: 'public' });
    const params = clientError(
      await send(authorizeURL(tenant, pub), { headers: jar.header() }),
      pub,
    );
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('state')).toBe('st-123');
    expect(await codesOf(pub)).toBe(0);
  });

  it('plain PKCE is refused, explicit or by default, and a malformed challenge too', async () => {
    const { challenge } = await pkce();
    const cases: Record<string, string>[] = [
      { code_challenge: challenge, code_challenge_method: 'plain' },
      { code_challenge: challenge },
      { code_challenge: 'short', code_challenge_method: 'S256' },
    ];
    for (const extra of cases) {
      const sent = await send(authorizeURL(tenant, client, extra), { headers: jar.header() });
      expect(clientError(sent, client).get('error')).toBe('invalid_request');
    }
    expect(await codesOf(client)).toBe(0);
  });

  it('refuses response types other than code and scopes the client lacks', async () => {
    const token = await send(authorizeURL(tenant, client, { response_type: 'token' }), {
      headers: jar.header(),
    });
    expect(clientError(token, client).get('error')).toBe('unsupported_response_type');
    const scope = await send(authorizeURL(tenant, client, { scope: 'openid admin' }), {
      headers: jar.header(),
    });
    expect(clientError(scope, client).get('error')).toBe('invalid_scope');
    const noOpenID = await send(authorizeURL(tenant, client, { scope: 'profile' }), {
      headers: jar.header(),
    });
    expect(clientError(noOpenID, client).get('error')).toBe('invalid_scope');
    const mixed = await send(authorizeURL(tenant, client, { prompt: 'none login' }), {
      headers: jar.header(),
    });
    expect(clientError(mixed, client).get('error')).toBe('invalid_request');
    expect(await codesOf(client)).toBe(0);
  });

  it('prompt=none without a session answers login_required to the client', async () => {
    const sent = await send(authorizeURL(tenant, client, { prompt: 'none' }));
    const params = clientError(sent, client);
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe('st-123');
    expect(await codesOf(client)).toBe(0);
  });
});

describe('hand-offs to the hosted pages', () => {
  it('without a session: to /login with return_to, prompt=login dropped and login_hint kept', async () => {
    const sent = await send(
      authorizeURL(tenant, client, { prompt: 'login', login_hint: 'ada@example.com' }),
    );
    expect(sent.response.status).toBe(302);
    const location = new URL(sent.response.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(
      `https://gatehouse.test/t/${tenant.slug}/login`,
    );
    const returnTo = location.searchParams.get('return_to')!;
    expect(returnTo.startsWith('/oauth2/authorize?')).toBe(true);
    const query = new URLSearchParams(returnTo.slice(returnTo.indexOf('?') + 1));
    expect(query.get('prompt')).toBeNull();
    expect(query.get('login_hint')).toBe('ada@example.com');
    expect(query.get('client_id')).toBe(client.clientId);
  });

  it('prompt=login with a live session still goes to /login (fresh sign-in)', async () => {
    const sent = await send(authorizeURL(tenant, client, { prompt: 'login' }), {
      headers: jar.header(),
    });
    expect(new URL(sent.response.headers.get('Location')!).pathname).toMatch(/\/login$/);
    expect(await codesOf(client)).toBe(0);
  });

  it('a third-party client without consent goes to /consent; prompt=none gets consent_required', async () => {
    const third = await makeClient(tenant, { firstParty: false });
    const sent = await send(authorizeURL(tenant, third), { headers: jar.header() });
    const location = new URL(sent.response.headers.get('Location')!);
    expect(location.pathname).toBe(`/t/${tenant.slug}/consent`);
    expect(location.searchParams.get('return_to')).toMatch(/^\/oauth2\/authorize\?/);
    const none = await send(authorizeURL(tenant, third, { prompt: 'none' }), {
      headers: jar.header(),
    });
    expect(clientError(none, third).get('error')).toBe('consent_required');
    const denied = await send(authorizeURL(tenant, third, { consent: 'denied' }), {
      headers: jar.header(),
    });
    expect(clientError(denied, third).get('error')).toBe('access_denied');
    expect(await codesOf(third)).toBe(0);
  });

  it('a third-party client with the consent on record gets its code', async () => {
    const third = await makeClient(tenant, { firstParty: false });
    const { userId, jar: userJar } = await signedIn(tenant);
    await count(sql`insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
      values (${tenant.id}::uuid, ${userId}::uuid, ${third.id}::uuid,
        array['openid','profile','email','offline_access']::text[], now(), now()) returning 1 as n`);
    const sent = await send(authorizeURL(tenant, third), { headers: userJar.header() });
    expect(new URL(sent.response.headers.get('Location')!).searchParams.get('code')).not.toBeNull();
  });
});
