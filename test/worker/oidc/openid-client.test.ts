// A real relying-party library against the Worker: panva's openid-client (v6) runs discovery, the
// code + PKCE flow (checking iss per RFC 9207, state, nonce and the ID token), userinfo, refresh,
// introspection, revocation and client_credentials, its requests routed into the Worker.
import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import { makeClient, signedIn, type TestClient } from './fixtures.ts';

let tenant: TestTenant;
let client: TestClient;
let issuer: URL;

const viaWorker: oidc.CustomFetch = async (url, options) => {
  const sent = await send(url, {
    method: options.method,
    headers: options.headers as HeadersInit,
    body: options.body as BodyInit | null | undefined,
  });
  return sent.response;
};

async function configuration(c: TestClient): Promise<oidc.Configuration> {
  const config = await oidc.discovery(
    issuer,
    c.clientId,
    { redirect_uris: [c.redirectURI] },
    oidc.ClientSecretBasic(c.secret!),
    { [oidc.customFetch]: viaWorker },
  );
  config[oidc.customFetch] = viaWorker;
  return config;
}

beforeAll(async () => {
  tenant = await makeTenant();
  client = await makeClient(tenant);
  issuer = new URL(`https://gatehouse.test/t/${tenant.slug}`);
  await send(`${tenant.base}/.well-known/jwks.json`);
});

describe('openid-client', () => {
  it('completes discovery, code + PKCE, userinfo, refresh, introspection and revocation', async () => {
    const config = await configuration(client);
    const { jar, userId, email } = await signedIn(tenant);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: client.redirectURI,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const authorized = await send(url.href, { headers: jar.header() });
    expect(authorized.response.status).toBe(302);
    const callback = new URL(authorized.response.headers.get('Location')!);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(userId);
    expect(claims.email).toBe(email);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info.email).toBe(email);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    const introspected = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(introspected.active).toBe(true);
    expect(introspected.client_id).toBe(client.clientId);

    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);

    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: client.postLogoutRedirectURI,
      state: 'bye',
    });
    const logout = await send(end.href, { headers: jar.header() });
    expect(logout.response.status).toBe(303);
    expect(logout.response.headers.get('Location')).toBe(
      `${client.postLogoutRedirectURI}?state=bye`,
    );
  });

  it('refuses an authorization response whose iss is not the issuer (mix-up defence)', async () => {
    const config = await configuration(client);
    const callback = new URL(
      `${client.redirectURI}?code=abc&state=s&iss=https%3A%2F%2Fevil.example`,
    );
    await expect(
      oidc.authorizationCodeGrant(config, callback, {
        expectedState: 's',
        pkceCodeVerifier: 'x'.repeat(43),
      }),
    ).rejects.toThrow();
  });

  it('gets a client_credentials token for a confidential client', async () => {
    const service = await makeClient(tenant, {
      grantTypes: ['client_credentials'],
      scopes: ['api'],
    });
    const config = await configuration(service);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('api');
  });
});
