// The whole authorization code + PKCE flow at the HTTP level (OIDC Core §3.1, RFC 7636,
// RFC 7662, RFC 7009, RP-Initiated Logout 1.0), with the round-trip budgets of issue 13.
import { sql } from 'drizzle-orm';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
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
let issuer: string;

beforeAll(async () => {
  tenant = await makeTenant();
  client = await makeClient(tenant);
  issuer = `https://gatehouse.test/t/${tenant.slug}`;
  // The isolate's first request also checks the schema version: keep it out of the budgets.
  await send(`${tenant.base}/.well-known/jwks.json`);
});

interface TokenAnswer {
  access_token: string;
  id_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

describe('discovery', () => {
  it('publishes the endpoints, S256 only, the key algorithm and iss in authorization responses', async () => {
    const sent = await send(`${tenant.base}/.well-known/openid-configuration`);
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Cache-Control')).toMatch(/public, max-age=\d+/);
    const doc = await sent.json();
    expect(doc.issuer).toBe(issuer);
    expect(doc.authorization_endpoint).toBe(`${issuer}/oauth2/authorize`);
    expect(doc.token_endpoint).toBe(`${issuer}/oauth2/token`);
    expect(doc.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
    expect(doc.end_session_endpoint).toBe(`${issuer}/oauth2/logout`);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    expect(await sent.roundTrips()).toBe(1);
  });
});

describe('the code flow, end to end', () => {
  it('cookie → authorize → code → token → userinfo → refresh → introspect → revoke → logout', async () => {
    const { jar, userId, email } = await signedIn(tenant);
    const { verifier, challenge } = await pkce();

    // authorize with a live session: a code straight back, ≤ 2 round trips.
    const {
      code,
      sent: authorized,
      location,
    } = await getCode(tenant, client, jar, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(`${location.origin}${location.pathname}`).toBe(client.redirectURI);
    expect(location.searchParams.get('state')).toBe('st-123');
    expect(location.searchParams.get('iss')).toBe(issuer);
    expect(authorized.response.headers.get('Cache-Control')).toBe('no-store');
    expect(await authorized.roundTrips()).toBeLessThanOrEqual(2);

    // token exchange: ≤ 2 round trips; no-store.
    const exchanged = await exchange(tenant, client, code, verifier);
    expect(exchanged.response.status).toBe(200);
    expect(exchanged.response.headers.get('Cache-Control')).toBe('no-store');
    expect(exchanged.response.headers.get('Pragma')).toBe('no-cache');
    expect(await exchanged.roundTrips()).toBeLessThanOrEqual(2);
    const tokens = await exchanged.json<TokenAnswer>();
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('openid profile email offline_access');
    expect(tokens.refresh_token).toBeTruthy();

    // The ID token verifies against the JWKS with the claims the issue names.
    const jwks = createLocalJWKSet(
      await (await send(`${tenant.base}/.well-known/jwks.json`)).json<{ keys: JWK[] }>(),
    );
    const { payload: id } = await jwtVerify(tokens.id_token, jwks, {
      issuer,
      audience: client.clientId,
      algorithms: ['ES256'],
    });
    const session = await count(
      sql`select count(*)::int as n from sessions where user_id = ${userId}::uuid`,
    );
    expect(session).toBe(1);
    const sid = (
      await testDB().execute(
        sql`select id, created_at from sessions where user_id = ${userId}::uuid`,
      )
    ).rows[0]!;
    expect(id.sub).toBe(userId);
    expect(id.nonce).toBe('n-456');
    expect(id.sid).toBe(String(sid.id));
    expect(id.azp).toBe(client.clientId);
    expect(id.auth_time).toBe(Math.floor(new Date(String(sid.created_at)).getTime() / 1000));
    expect(Array.isArray(id.amr)).toBe(true);
    expect(id.acr).toBe('1');
    expect(id.email).toBe(email);
    expect(id.name).toBe('Ada Lovelace');
    expect(typeof id.at_hash).toBe('string');

    // The access token is bound to the client.
    const { payload: at } = await jwtVerify(tokens.access_token, jwks, {
      issuer,
      audience: client.clientId,
      typ: 'at+jwt',
    });
    expect(at.client_id).toBe(client.clientId);
    expect(at.scope).toBe('openid profile email offline_access');
    expect(at.sid).toBe(String(sid.id));

    // The JSON API refuses the OIDC refresh token and the OIDC access token.
    const viaJSON = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
    );
    expect(viaJSON.response.status).toBe(400);
    expect((await viaJSON.json()).error).toBe('invalid_grant');

    // userinfo: 1 round trip.
    const info = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.response.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: userId, email, email_verified: false });
    expect(await info.roundTrips()).toBe(1);

    // refresh: a new pair; the old refresh token is spent.
    const refreshed = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(client)),
    );
    expect(refreshed.response.status).toBe(200);
    expect(await refreshed.roundTrips()).toBeLessThanOrEqual(2);
    const next = await refreshed.json<TokenAnswer>();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(next.access_token).aud).toBe(client.clientId);

    // introspection: ≤ 1 round trip; both tokens active.
    const introspected = await send(
      `${tenant.base}/oauth2/introspect`,
      form({ token: next.access_token }, basic(client)),
    );
    expect(await introspected.json()).toMatchObject({
      active: true,
      client_id: client.clientId,
      sub: userId,
      sid: String(sid.id),
      iss: issuer,
      token_type: 'Bearer',
    });
    expect(await introspected.roundTrips()).toBeLessThanOrEqual(1);
    const introspectedRefresh = await send(
      `${tenant.base}/oauth2/introspect`,
      form({ token: next.refresh_token }, basic(client)),
    );
    expect(await introspectedRefresh.json()).toMatchObject({
      active: true,
      token_type: 'refresh_token',
    });

    // revoke the refresh token: the grant goes, its access tokens introspect inactive.
    const revoked = await send(
      `${tenant.base}/oauth2/revoke`,
      form({ token: next.refresh_token }, basic(client)),
    );
    expect(revoked.response.status).toBe(200);
    expect(await revoked.roundTrips()).toBeLessThanOrEqual(2);
    for (const token of [next.refresh_token, next.access_token, tokens.access_token]) {
      const after = await send(`${tenant.base}/oauth2/introspect`, form({ token }, basic(client)));
      expect(await after.json()).toEqual({ active: false });
    }
    const deadInfo = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${next.access_token}` },
    });
    expect(deadInfo.response.status).toBe(401);
    expect(deadInfo.response.headers.get('WWW-Authenticate')).toContain('invalid_token');
    expect(
      await count(
        sql`select count(*)::int as n from audit_events where tenant_id = ${tenant.id}::uuid and type = 'oauth.token.revoked'`,
      ),
    ).toBe(1);

    // RP-initiated logout with the ID token hint: the SSO session ends, back to the client.
    const logout = await send(
      `${tenant.base}/oauth2/logout?${new URLSearchParams({
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: client.postLogoutRedirectURI,
        state: 'bye-1',
      })}`,
      { headers: jar.header() },
    );
    expect(logout.response.status).toBe(303);
    expect(await logout.roundTrips()).toBeLessThanOrEqual(2);
    expect(logout.response.headers.get('Location')).toBe(
      `${client.postLogoutRedirectURI}?state=bye-1`,
    );
    expect(
      await count(
        sql`select count(*)::int as n from sessions where user_id = ${userId}::uuid and revoked_at is not null`,
      ),
    ).toBe(1);
    const again = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(again.response.status).toBe(401);
  });

  it('prompt=none with a live session answers with a code; audits oauth.authorize and oauth.token', async () => {
    const { jar } = await signedIn(tenant);
    const { verifier, challenge } = await pkce();
    const { code } = await getCode(tenant, client, jar, {
      prompt: 'none',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect((await exchange(tenant, client, code, verifier)).response.status).toBe(200);
    const types = await count(
      sql`select count(distinct type)::int as n from audit_events where tenant_id = ${tenant.id}::uuid and type in ('oauth.authorize', 'oauth.token')`,
    );
    expect(types).toBe(2);
  });
});

describe('client_credentials', () => {
  it('gives a confidential client an access token for its API scopes, no ID or refresh token', async () => {
    const service = await makeClient(tenant, {
      grantTypes: ['client_credentials'],
      scopes: ['api:read', 'api:write', 'openid'],
    });
    const sent = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'client_credentials', scope: 'api:read' }, basic(service)),
    );
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
    const body = await sent.json<Record<string, unknown>>();
    expect(body.id_token).toBeUndefined();
    expect(body.refresh_token).toBeUndefined();
    const claims = decodeJwt(String(body.access_token));
    expect(claims).toMatchObject({
      sub: service.clientId,
      aud: service.clientId,
      scope: 'api:read',
    });
    const oidc = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'client_credentials', scope: 'openid' }, basic(service)),
    );
    expect((await oidc.json()).error).toBe('invalid_scope');
  });
});
