import { sql } from 'drizzle-orm';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoRandom } from '../../../src/deps.ts';
import { rotateSigningKey, retireSigningKey } from '../../../src/features/tokens/rotation.ts';
import {
  CookieJar,
  makeTenant,
  testConfig,
  testDB,
  uniqueEmail,
  type TestTenant,
} from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

async function signedUp(
  tenant: TestTenant,
  organization_name?: string,
): Promise<{ jar: CookieJar; email: string; userId: string }> {
  const email = uniqueEmail();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: 'correct horse battery', organization_name }),
  );
  const jar = new CookieJar();
  jar.store(sent.response);
  return { jar, email, userId: (await sent.json<{ user: { id: string } }>()).user.id };
}

async function exchange(tenant: TestTenant, jar: CookieJar): Promise<Tokens> {
  const sent = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(sent.response.status).toBe(200);
  expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
  return sent.json<Tokens>();
}

const refresh = (tenant: TestTenant, token: string) =>
  send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: token }),
  );

async function jwks(tenant: TestTenant): Promise<{ keys: JWK[] }> {
  const sent = await send(`${tenant.base}/.well-known/jwks.json`);
  expect(sent.response.headers.get('Cache-Control')).toContain('max-age=');
  return sent.json();
}

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant();
  await send(`${tenant.base}/.well-known/jwks.json`);
});

describe('access tokens', () => {
  it('carry the documented claims, signed ES256 by a key the JWKS publishes', async () => {
    const { jar, email, userId } = await signedUp(tenant, 'Claims Inc');
    const tokens = await exchange(tenant, jar);
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.expires_in).toBe(600);
    const issuer = `https://gatehouse.test/t/${tenant.slug}`;
    const { payload, protectedHeader } = await jwtVerify(
      tokens.access_token,
      createLocalJWKSet(await jwks(tenant)),
      {
        issuer,
        audience: issuer,
        algorithms: ['ES256'],
      },
    );
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: userId,
      tenant: tenant.slug,
      email,
      email_verified: false,
      role: 'owner',
    });
    expect(payload.org).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('verify at the session endpoint with no database round trip once keys are cached', async () => {
    const { jar } = await signedUp(tenant);
    const tokens = await exchange(tenant, jar);
    const headers = { Authorization: `Bearer ${tokens.access_token}` };
    await send(`${tenant.base}/v1/auth/session`, { headers }); // warms this isolate's key cache
    const sent = await send(`${tenant.base}/v1/auth/session`, { headers });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(0);
    const tampered = `${tokens.access_token.slice(0, -4)}AAAA`;
    const bad = await send(`${tenant.base}/v1/auth/session`, {
      headers: { Authorization: `Bearer ${tampered}` },
    });
    expect(bad.response.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('of one tenant do not verify at another', async () => {
    const other = await makeTenant();
    const { jar } = await signedUp(tenant);
    const tokens = await exchange(tenant, jar);
    const sent = await send(`${other.base}/v1/auth/session`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(sent.response.status).toBe(401);
  });

  it('can be RS256 when the tenant selects it', async () => {
    const rsa = await makeTenant({ settings: { signingAlgorithm: 'RS256' } });
    const { jar } = await signedUp(rsa);
    const tokens = await exchange(rsa, jar);
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('RS256');
    const issuer = `https://gatehouse.test/t/${rsa.slug}`;
    await expect(
      jwtVerify(tokens.access_token, createLocalJWKSet(await jwks(rsa)), {
        issuer,
        audience: issuer,
      }),
    ).resolves.toBeTruthy();
  });
});

describe('signing keys', () => {
  it('are stored encrypted, never as a plain private key', async () => {
    const result = await testDB().execute(
      sql`select private_key from signing_keys where tenant_id = ${tenant.id}::uuid`,
    );
    for (const row of result.rows) {
      expect(String(row.private_key)).toMatch(
        /^v2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
      );
      expect(String(row.private_key)).not.toContain('PRIVATE KEY');
    }
  });

  it('rotate: new tokens use the new key, old tokens keep verifying until the old key is retired', async () => {
    const rotating = await makeTenant();
    const { jar } = await signedUp(rotating);
    const before = await exchange(rotating, jar);
    const oldKid = decodeProtectedHeader(before.access_token).kid!;
    const config = testConfig();
    const { kid: newKid } = await rotateSigningKey(
      { db: testDB(), secretKey: config.secretKey, random: cryptoRandom },
      rotating.id,
      'ES256',
    );
    const after = await exchange(rotating, jar);
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    const published = await jwks(rotating);
    expect(published.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    const issuer = `https://gatehouse.test/t/${rotating.slug}`;
    const keySet = createLocalJWKSet(published);
    await expect(
      jwtVerify(before.access_token, keySet, { issuer, audience: issuer }),
    ).resolves.toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the isolate re-reads keys at most once a second
    const oldAtEndpoint = await send(`${rotating.base}/v1/auth/session`, {
      headers: { Authorization: `Bearer ${before.access_token}` },
    });
    expect(oldAtEndpoint.response.status).toBe(200);
    const newAtEndpoint = await send(`${rotating.base}/v1/auth/session`, {
      headers: { Authorization: `Bearer ${after.access_token}` },
    });
    expect(newAtEndpoint.response.status).toBe(200);

    await retireSigningKey({ db: testDB() }, rotating.id, oldKid, new Date());
    const retired = await jwks(rotating);
    expect(retired.keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(
      jwtVerify(before.access_token, createLocalJWKSet(retired), { issuer, audience: issuer }),
    ).rejects.toThrow();
  });
});

describe('refresh tokens', () => {
  it('rotate on every use in at most two round trips; the used one stops working', async () => {
    const { jar } = await signedUp(tenant);
    const first = await exchange(tenant, jar);
    const sent = await refresh(tenant, first.refresh_token);
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Cache-Control')).toBe('no-store');
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
    const second = await sent.json<Tokens>();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.access_token).sid).toBe(decodeJwt(first.access_token).sid);
    const third = await refresh(tenant, second.refresh_token);
    expect(third.response.status).toBe(200);
  });

  it('reuse of a rotated token revokes the whole family and the session', async () => {
    const { jar } = await signedUp(tenant);
    const first = await exchange(tenant, jar);
    const second = await (await refresh(tenant, first.refresh_token)).json<Tokens>();
    const reuse = await refresh(tenant, first.refresh_token);
    expect(reuse.response.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await reuse.roundTrips()).toBeLessThanOrEqual(2);
    expect((await refresh(tenant, second.refresh_token)).response.status).toBe(400);
    expect(
      (await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() })).response.status,
    ).toBe(401);
  });

  it('of 20 concurrent refreshes with one token, exactly one succeeds', async () => {
    const { jar } = await signedUp(tenant);
    const first = await exchange(tenant, jar);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refresh(tenant, first.refresh_token)),
    );
    const statuses = results.map((r) => r.response.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    // With the default grace of 0 the losers are reuse: the family, the winner's token included, is revoked.
    const winner = await results.find((r) => r.response.status === 200)!.json<Tokens>();
    expect((await refresh(tenant, winner.refresh_token)).response.status).toBe(400);
  });

  it('without a grace, a request whose clock reads before a concurrent rotation is still reuse', async () => {
    // The race above, made deterministic: the loser read its clock (one second earlier) before
    // the winner's rotation committed, so it sees rotated_at in its future.
    const { jar } = await signedUp(tenant);
    const first = await exchange(tenant, jar);
    const winnerAt = new Date();
    const loserAt = new Date(winnerAt.getTime() - 1000);
    const at = (now: Date) => ({ app: { overrideDeps: () => ({ clock: { now: () => now } }) } });
    const body = { grant_type: 'refresh_token', refresh_token: first.refresh_token };
    const winner = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', body),
      at(winnerAt),
    );
    expect(winner.response.status).toBe(200);
    const loser = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest('POST', body),
      at(loserAt),
    );
    expect(loser.response.status).toBe(400);
    expect(await loser.json()).toMatchObject({ error: 'invalid_grant' });
    const next = (await winner.json<Tokens>()).refresh_token;
    expect((await refresh(tenant, next)).response.status).toBe(400); // the family is revoked
  });

  it('within a tenant grace, a just-rotated token still rotates (concurrent tabs)', async () => {
    const lenient = await makeTenant({ settings: { refreshReuseGraceSeconds: 30 } });
    const { jar } = await signedUp(lenient);
    const first = await exchange(lenient, jar);
    const a = await refresh(lenient, first.refresh_token);
    const b = await refresh(lenient, first.refresh_token);
    expect(a.response.status).toBe(200);
    expect(b.response.status).toBe(200);
    expect((await refresh(lenient, (await a.json<Tokens>()).refresh_token)).response.status).toBe(
      200,
    );
  });

  it('refuses unknown tokens and tokens of another tenant, and stores only hashes', async () => {
    const { jar } = await signedUp(tenant);
    const tokens = await exchange(tenant, jar);
    const other = await makeTenant();
    expect((await refresh(other, tokens.refresh_token)).response.status).toBe(400);
    expect((await refresh(tenant, 'not-a-token')).response.status).toBe(400);
    const result = await testDB().execute(
      sql`select count(*)::int as n from refresh_tokens where token_hash = ${tokens.refresh_token}`,
    );
    expect(Number(result.rows[0]?.n)).toBe(0);
    // The other tenant's failed attempt did not revoke anything here.
    expect((await refresh(tenant, tokens.refresh_token)).response.status).toBe(200);
  });

  it('cannot be minted from a cookie by a foreign origin', async () => {
    const { jar } = await signedUp(tenant);
    const sent = await send(
      `${tenant.base}/v1/auth/token`,
      jsonRequest(
        'POST',
        { grant_type: 'session' },
        { ...jar.header(), Origin: 'https://evil.example' },
      ),
    );
    expect(sent.response.status).toBe(403);
  });
});
