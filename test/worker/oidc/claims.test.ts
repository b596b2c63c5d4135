// ID token and userinfo claims by scope (OIDC Core §5.4): roles and the tenant's claim mappers,
// acr from the session's amr (RFC 8176), max_age, and RFC 6749 §2.3.1's encoded Basic credentials.
import { sql } from 'drizzle-orm';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import {
  authorizeURL,
  basic,
  exchange,
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

async function flow(
  c: TestClient,
  jar: Awaited<ReturnType<typeof signedIn>>['jar'],
  scope: string,
): Promise<{ id_token: string; access_token: string }> {
  const { verifier, challenge } = await pkce();
  const { code } = await getCode(tenant, c, jar, {
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const sent = await exchange(tenant, c, code, verifier);
  expect(sent.response.status).toBe(200);
  return sent.json();
}

describe('claims by scope', () => {
  it('roles and mapped claims reach the ID token and userinfo only with their scopes', async () => {
    const { jar, userId } = await signedIn(tenant);
    const db = testDB();
    await db.execute(sql`
      with role as (
        insert into roles (tenant_id, name) values (${tenant.id}::uuid, 'editor') returning id
      )
      insert into user_roles (tenant_id, user_id, role_id)
      select ${tenant.id}::uuid, ${userId}::uuid, id from role`);
    await db.execute(sql`insert into user_attributes (tenant_id, user_id, key, value)
      values (${tenant.id}::uuid, ${userId}::uuid, 'department', 'R&D')`);
    await db.execute(sql`insert into claim_mappers (tenant_id, attribute_key, claim_name, access_token, id_token)
      values (${tenant.id}::uuid, 'department', 'dept', false, true)`);

    const full = await flow(client, jar, 'openid profile email roles');
    const jwks = createLocalJWKSet(
      await (await send(`${tenant.base}/.well-known/jwks.json`)).json<{ keys: JWK[] }>(),
    );
    const { payload } = await jwtVerify(full.id_token, jwks, {
      issuer: `https://gatehouse.test/t/${tenant.slug}`,
      audience: client.clientId,
    });
    expect(payload.roles).toEqual(['editor']);
    expect(payload.dept).toBe('R&D');
    expect(payload.updated_at).toEqual(expect.any(Number));
    // The mapper is for ID tokens only: the access token does not carry it.
    expect(decodeJwt(full.access_token).dept).toBeUndefined();
    const info = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${full.access_token}` },
    });
    expect(await info.json()).toMatchObject({ sub: userId, roles: ['editor'], dept: 'R&D' });

    const bare = await flow(client, jar, 'openid');
    const claims = decodeJwt(bare.id_token);
    for (const name of ['roles', 'dept', 'email', 'name']) expect(claims[name]).toBeUndefined();
    const bareInfo = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${bare.access_token}` },
    });
    expect(Object.keys(await bareInfo.json())).toEqual(['sub']);
  });

  it("picture is the avatar's absolute URL with the profile scope, and absent without an avatar", async () => {
    const { jar } = await signedIn(tenant);
    const png = new Uint8Array(64).fill(9);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const before = await flow(client, jar, 'openid profile');
    // No avatar yet: no picture claim (not a null one), in the ID token and in userinfo.
    expect('picture' in decodeJwt(before.id_token)).toBe(false);
    const beforeInfo = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${before.access_token}` },
    });
    expect('picture' in (await beforeInfo.json())).toBe(false);

    const uploaded = await send(`${tenant.base}/v1/auth/me/avatar`, {
      method: 'PUT',
      headers: { ...jar.header(), 'Content-Type': 'image/png' },
      body: png,
    });
    expect(uploaded.response.status).toBe(200);
    const avatarUrl = String((await uploaded.json()).avatar_url);
    expect(avatarUrl).toMatch(
      new RegExp(`^https://gatehouse\\.test/t/${tenant.slug}/v1/avatars/[0-9a-f]{64}$`),
    );

    const after = await flow(client, jar, 'openid profile');
    expect(decodeJwt(after.id_token).picture).toBe(avatarUrl);
    const info = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${after.access_token}` },
    });
    expect((await info.json()).picture).toBe(avatarUrl);
    // The URL serves the image the user uploaded.
    const served = await send(avatarUrl);
    expect(served.response.status).toBe(200);
    expect(new Uint8Array(await served.response.arrayBuffer())).toEqual(png);

    // Without the profile scope the avatar is not released.
    const emailOnly = await flow(client, jar, 'openid email');
    expect(decodeJwt(emailOnly.id_token).picture).toBeUndefined();
    const emailInfo = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${emailOnly.access_token}` },
    });
    expect((await emailInfo.json()).picture).toBeUndefined();
  });

  it("acr is '2' and amr the session's when the sign-in used a second factor", async () => {
    const { jar, userId } = await signedIn(tenant);
    await testDB().execute(
      sql`update sessions set amr = array['pwd','otp','mfa']::text[] where user_id = ${userId}::uuid`,
    );
    const tokens = await flow(client, jar, 'openid');
    const claims = decodeJwt(tokens.id_token);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('2');
  });
});

describe('session age and client credentials encoding', () => {
  it('max_age older than the session sends the user to sign in; prompt=none gets login_required', async () => {
    const { jar, userId } = await signedIn(tenant);
    await testDB().execute(
      sql`update sessions set created_at = now() - interval '10 minutes' where user_id = ${userId}::uuid`,
    );
    const relogin = await send(authorizeURL(tenant, client, { max_age: '60' }), {
      headers: jar.header(),
    });
    expect(new URL(relogin.response.headers.get('Location')!).pathname).toMatch(/\/login$/);
    const none = await send(authorizeURL(tenant, client, { max_age: '60', prompt: 'none' }), {
      headers: jar.header(),
    });
    expect(new URL(none.response.headers.get('Location')!).searchParams.get('error')).toBe(
      'login_required',
    );
    const fresh = await send(authorizeURL(tenant, client, { max_age: '3600' }), {
      headers: jar.header(),
    });
    expect(
      new URL(fresh.response.headers.get('Location')!).searchParams.get('code'),
    ).not.toBeNull();
  });

  it('decodes form-urlencoded client ids and secrets inside Basic (RFC 6749 §2.3.1)', async () => {
    const odd = await makeClient(tenant, {
      clientId: `app:one+two ${crypto.randomUUID()}`,
      grantTypes: ['client_credentials'],
      scopes: ['api'],
    });
    const sent = await send(`${tenant.base}/oauth2/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...basic(odd) },
    });
    expect(sent.response.status).toBe(200);
    expect(decodeJwt(String((await sent.json()).access_token)).client_id).toBe(odd.clientId);
  });
});
