// Issue 11, item 6: "issuers are PUBLIC_BASE_URL[BASE_PATH]/t/{slug}". Under BASE_PATH=/auth a
// tenant's access tokens carry that issuer (and, with no audience set, that audience), the JWKS
// is served under it, and the tokens verify against it, at a resource server and at the service.
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, send, testEnv } from '../harness.ts';

const MOUNTED = { env: { BASE_PATH: '/auth' } };

describe('issuers under BASE_PATH', () => {
  it('issue tokens whose iss is PUBLIC_BASE_URL + BASE_PATH + /t/{slug}, verifiable with the JWKS there', async () => {
    const tenant = await makeTenant();
    const base = `/auth/t/${tenant.slug}`;
    const registered = await send(
      `${base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: 'correct horse battery' }),
      MOUNTED,
    );
    expect(registered.response.status).toBe(201);
    const jar = new CookieJar();
    jar.store(registered.response);
    const tokens = await send(
      `${base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, jar.header()),
      MOUNTED,
    );
    expect(tokens.response.status).toBe(200);
    const { access_token } = await tokens.json<{ access_token: string }>();

    const issuer = `${new URL(testEnv.PUBLIC_BASE_URL!).origin}/auth/t/${tenant.slug}`;
    const claims = decodeJwt(access_token);
    expect(claims.iss).toBe(issuer);
    expect(claims.aud).toBe(issuer);

    // A resource server fetches `${iss}/.well-known/jwks.json` and verifies with it.
    const jwksPath = new URL(`${issuer}/.well-known/jwks.json`).pathname;
    expect(jwksPath).toBe(`${base}/.well-known/jwks.json`);
    const jwks = await send(jwksPath, {}, MOUNTED);
    expect(jwks.response.status).toBe(200);
    const { keys } = await jwks.json<{ keys: JWK[] }>();
    const { payload } = await jwtVerify(access_token, createLocalJWKSet({ keys }), {
      issuer,
      audience: issuer,
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(claims.sub);

    // The service's own bearer check accepts it under BASE_PATH...
    const bearer = { headers: { Authorization: `Bearer ${access_token}` } };
    const session = await send(`${base}/v1/auth/session`, bearer, MOUNTED);
    expect(session.response.status).toBe(200);
    // ...and a deployment without the mount (another issuer) does not.
    const unmounted = await send(`/t/${tenant.slug}/v1/auth/session`, bearer);
    expect(unmounted.response.status).toBe(401);
    expect(await unmounted.json()).toMatchObject({ error: 'invalid_token' });
  });
});
