// RP-Initiated Logout 1.0 refusals, and the access endpoints' answers for tokens that are not
// the caller's (RFC 7662 §2.2, RFC 7009 §2.2, RFC 6750 §3).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  basic,
  count,
  exchange,
  form,
  getCode,
  makeClient,
  pkce,
  signedIn,
  type TestClient,
} from './fixtures.ts';

let tenant: TestTenant;
let client: TestClient;

beforeAll(async () => {
  tenant = await makeTenant();
  client = await makeClient(tenant);
  await send(`${tenant.base}/.well-known/jwks.json`);
});

interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token: string;
}

async function tokensFor(t: TestTenant, c: TestClient) {
  const user = await signedIn(t);
  const { verifier, challenge } = await pkce();
  const { code } = await getCode(t, c, user.jar, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const tokens = await (await exchange(t, c, code, verifier)).json<Tokens>();
  return { ...user, tokens };
}

const liveSessions = (userId: string) =>
  count(
    sql`select count(*)::int as n from sessions where user_id = ${userId}::uuid and revoked_at is null`,
  );

describe('logout refusals: a page, nothing revoked', () => {
  it('a post_logout_redirect_uri not registered for the client', async () => {
    const { jar, userId, tokens } = await tokensFor(tenant, client);
    const sent = await send(
      `${tenant.base}/oauth2/logout?${new URLSearchParams({
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: 'https://app.example.com/bye/',
      })}`,
      { headers: jar.header() },
    );
    expect(sent.response.status).toBe(400);
    expect(sent.response.headers.get('Location')).toBeNull();
    expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(await liveSessions(userId)).toBe(1);
  });

  it('an ID token hint from another tenant', async () => {
    const other = await makeTenant();
    const otherClient = await makeClient(other);
    const foreign = await tokensFor(other, otherClient);
    const { jar, userId } = await signedIn(tenant);
    const sent = await send(
      `${tenant.base}/oauth2/logout?${new URLSearchParams({ id_token_hint: foreign.tokens.id_token })}`,
      { headers: jar.header() },
    );
    expect(sent.response.status).toBe(400);
    expect(sent.response.headers.get('Location')).toBeNull();
    expect(await liveSessions(userId)).toBe(1);
    expect(await liveSessions(foreign.userId)).toBe(1);
  });

  it('without a hint a GET only asks; a same-origin POST confirms and lands on /signed-out', async () => {
    const { jar, userId } = await signedIn(tenant);
    const asked = await send(`${tenant.base}/oauth2/logout`, { headers: jar.header() });
    expect(asked.response.status).toBe(200);
    expect(await asked.response.text()).toContain('<form method="post">');
    expect(await liveSessions(userId)).toBe(1);
    const crossSite = await send(
      `${tenant.base}/oauth2/logout`,
      form({ confirm: 'yes' }, { ...jar.header(), Origin: 'https://evil.example.net' }),
    );
    expect(crossSite.response.status).toBe(200);
    expect(await liveSessions(userId)).toBe(1);
    const confirmed = await send(
      `${tenant.base}/oauth2/logout`,
      form({ confirm: 'yes' }, { ...jar.header(), Origin: 'https://gatehouse.test' }),
    );
    expect(confirmed.response.status).toBe(303);
    expect(confirmed.response.headers.get('Location')).toBe(
      `https://gatehouse.test/t/${tenant.slug}/signed-out`,
    );
    expect(await liveSessions(userId)).toBe(0);
    expect(
      await count(sql`select count(*)::int as n from audit_events
        where tenant_id = ${tenant.id}::uuid and type = 'oauth.logout' and actor_id = ${userId}`),
    ).toBe(1);
  });

  it('signing out ends the OIDC grant: its refresh token is refused', async () => {
    const { jar, tokens } = await tokensFor(tenant, client);
    const logout = await send(
      `${tenant.base}/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token })}`,
      { headers: jar.header() },
    );
    expect(logout.response.status).toBe(303);
    const refreshed = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(client)),
    );
    expect((await refreshed.json()).error).toBe('invalid_grant');
  });
});

describe("tokens that are not the caller's", () => {
  it("introspection of another client's token is inactive; revoking it does nothing", async () => {
    const other = await makeClient(tenant);
    const { tokens } = await tokensFor(tenant, client);
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const sent = await send(`${tenant.base}/oauth2/introspect`, form({ token }, basic(other)));
      expect(await sent.json()).toEqual({ active: false });
      const revoked = await send(`${tenant.base}/oauth2/revoke`, form({ token }, basic(other)));
      expect(revoked.response.status).toBe(200);
    }
    const still = await send(
      `${tenant.base}/oauth2/introspect`,
      form({ token: tokens.access_token }, basic(client)),
    );
    expect((await still.json()).active).toBe(true);
  });

  it('introspection and revocation need client authentication; unknown tokens revoke with 200', async () => {
    const anonymous = await send(`${tenant.base}/oauth2/introspect`, form({ token: 'x' }));
    expect(anonymous.response.status).toBe(401);
    const wrong = await send(
      `${tenant.base}/oauth2/introspect`,
      form({ token: 'x' }, basic({ ...client, secret: 'wrong' })),
    );
    expect(wrong.response.status).toBe(401);
    const unknown = await send(
      `${tenant.base}/oauth2/revoke`,
      form({ token: 'nope' }, basic(client)),
    );
    expect(unknown.response.status).toBe(200);
  });

  it('userinfo: no token → 401 with a bare Bearer challenge; a JSON API token → invalid_token', async () => {
    const none = await send(`${tenant.base}/oauth2/userinfo`);
    expect(none.response.status).toBe(401);
    expect(none.response.headers.get('WWW-Authenticate')).toBe('Bearer');
    const { jar } = await signedIn(tenant);
    const apiTokens = await (
      await send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest('POST', { grant_type: 'session' }, jar.header()),
      )
    ).json<{ access_token: string; refresh_token: string }>();
    const sent = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${apiTokens.access_token}` },
    });
    expect(sent.response.status).toBe(401);
    expect(sent.response.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    // …and the OIDC token endpoint refuses the JSON API's refresh token.
    const crossed = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: apiTokens.refresh_token }, basic(client)),
    );
    expect((await crossed.json()).error).toBe('invalid_grant');
  });
});
