// /oauth2/token refusals (RFC 6749 §5.2, RFC 7636 §4.6, RFC 6749 §4.1.2 on code reuse), each
// checked for "nothing issued".
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import type { CookieJar } from '../fixtures.ts';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
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
let jar: CookieJar;

beforeAll(async () => {
  tenant = await makeTenant();
  client = await makeClient(tenant);
  await send(`${tenant.base}/.well-known/jwks.json`);
  jar = (await signedIn(tenant)).jar;
});

const refreshTokensOf = (c: TestClient) =>
  count(sql`select count(*)::int as n from refresh_tokens where client_id = ${c.id}::uuid`);

async function freshCode(c: TestClient = client) {
  const { verifier, challenge } = await pkce();
  const { code } = await getCode(tenant, c, jar, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return { code, verifier };
}

async function errorOf(sent: Awaited<ReturnType<typeof send>>): Promise<string> {
  return String((await sent.json()).error);
}

describe('authorization_code refusals', () => {
  it('a wrong PKCE verifier: invalid_grant, nothing issued', async () => {
    const c = await makeClient(tenant);
    const { code } = await freshCode(c);
    const wrong = (await pkce()).verifier;
    const sent = await exchange(tenant, c, code, wrong);
    expect(sent.response.status).toBe(400);
    expect(await errorOf(sent)).toBe('invalid_grant');
    expect((await exchange(tenant, c, code, undefined)).response.status).toBe(400);
    expect(await refreshTokensOf(c)).toBe(0);
  });

  it('a code used twice: invalid_grant, and every token from the first exchange is dead', async () => {
    const c = await makeClient(tenant);
    const { code, verifier } = await freshCode(c);
    const first = await exchange(tenant, c, code, verifier);
    expect(first.response.status).toBe(200);
    const tokens = await first.json<{ access_token: string; refresh_token: string }>();
    const second = await exchange(tenant, c, code, verifier);
    expect(second.response.status).toBe(400);
    expect(await errorOf(second)).toBe('invalid_grant');
    expect(await second.roundTrips()).toBeLessThanOrEqual(2);

    const refreshed = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(c)),
    );
    expect(await errorOf(refreshed)).toBe('invalid_grant');
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const introspected = await send(
        `${tenant.base}/oauth2/introspect`,
        form({ token }, basic(c)),
      );
      expect(await introspected.json()).toEqual({ active: false });
    }
    const info = await send(`${tenant.base}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.response.status).toBe(401);
    expect(
      await count(sql`select count(*)::int as n from audit_events
        where tenant_id = ${tenant.id}::uuid and type = 'oauth.code.reuse_detected'`),
    ).toBe(1);
    expect(
      await count(sql`select count(*)::int as n from refresh_tokens
        where client_id = ${c.id}::uuid and revoked_at is null`),
    ).toBe(0);
  });

  it("another client's code: invalid_grant, and its own client can still redeem it", async () => {
    const a = await makeClient(tenant);
    const b = await makeClient(tenant);
    const { code, verifier } = await freshCode(a);
    const stolen = await exchange(tenant, b, code, verifier);
    expect(await errorOf(stolen)).toBe('invalid_grant');
    expect(await refreshTokensOf(b)).toBe(0);
    expect((await exchange(tenant, a, code, verifier)).response.status).toBe(200);
  });

  it('a code expires after 60 s: accepted a second before, refused at the limit (frozen clock)', async () => {
    const c = await makeClient(tenant);
    const start = new Date(Date.now() + 1000);
    const at = (ms: number): { app: { overrideDeps: () => { clock: Clock } } } => ({
      app: { overrideDeps: () => ({ clock: { now: () => new Date(start.getTime() + ms) } }) },
    });
    const codes = [];
    for (let i = 0; i < 2; i++) {
      const { verifier, challenge } = await pkce();
      const { code } = await getCode(
        tenant,
        c,
        jar,
        { code_challenge: challenge, code_challenge_method: 'S256' },
        at(0),
      );
      codes.push({ code, verifier });
    }
    const late = await exchange(tenant, c, codes[0]!.code, codes[0]!.verifier, at(60_000));
    expect(late.response.status).toBe(400);
    expect(await errorOf(late)).toBe('invalid_grant');
    expect(await refreshTokensOf(c)).toBe(0);
    const inTime = await exchange(tenant, c, codes[1]!.code, codes[1]!.verifier, at(59_000));
    expect(inTime.response.status).toBe(200);
  });

  it('a wrong client secret: 401 invalid_client (Basic challenge when Basic was used), nothing issued', async () => {
    const c = await makeClient(tenant);
    const { code, verifier } = await freshCode(c);
    const wrong = { ...c, secret: 'not-the-secret' };
    const viaBasic = await exchange(tenant, wrong, code, verifier);
    expect(viaBasic.response.status).toBe(401);
    expect(await errorOf(viaBasic)).toBe('invalid_client');
    expect(viaBasic.response.headers.get('WWW-Authenticate')).toMatch(/^Basic /);
    const viaPost = await send(
      `${tenant.base}/oauth2/token`,
      form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: c.redirectURI,
        code_verifier: verifier,
        client_id: c.clientId,
        client_secret: 'not-the-secret',
      }),
    );
    expect(viaPost.response.status).toBe(401);
    const none = await exchange(tenant, { ...c, secret: null }, code, verifier);
    expect(await errorOf(none)).toBe('invalid_client');
    expect(await refreshTokensOf(c)).toBe(0);
    // The code was not consumed by the failed attempts.
    expect((await exchange(tenant, c, code, verifier)).response.status).toBe(200);
  });

  it('client_secret_post and a public client with PKCE (auth method none) both work', async () => {
    const pub = await makeClient(tenant, { type: 'public' });
    const { code, verifier } = await freshCode(pub);
    expect((await exchange(tenant, pub, code, verifier)).response.status).toBe(200);
    const c = await makeClient(tenant);
    const second = await freshCode(c);
    const post = await send(
      `${tenant.base}/oauth2/token`,
      form({
        grant_type: 'authorization_code',
        code: second.code,
        redirect_uri: c.redirectURI,
        code_verifier: second.verifier,
        client_id: c.clientId,
        client_secret: c.secret!,
      }),
    );
    expect(post.response.status).toBe(200);
  });

  it('a redirect_uri other than the one at authorize, a JSON body, an unknown grant type', async () => {
    const c = await makeClient(tenant);
    const { code, verifier } = await freshCode(c);
    const other = await send(
      `${tenant.base}/oauth2/token`,
      form(
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: 'http://127.0.0.1:8080/cb',
          code_verifier: verifier,
        },
        basic(c),
      ),
    );
    expect(await errorOf(other)).toBe('invalid_grant');
    const json = await send(`${tenant.base}/oauth2/token`, {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'authorization_code', code }),
      headers: { 'Content-Type': 'application/json', ...basic(c) },
    });
    expect(await errorOf(json)).toBe('invalid_request');
    const grant = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'password' }, basic(c)),
    );
    expect(await errorOf(grant)).toBe('unsupported_grant_type');
    expect(await refreshTokensOf(c)).toBe(0);
  });
});

describe('refresh_token refusals', () => {
  it("client B cannot use client A's refresh token; A's token keeps working", async () => {
    const a = await makeClient(tenant);
    const b = await makeClient(tenant);
    const { code, verifier } = await freshCode(a);
    const tokens = await (
      await exchange(tenant, a, code, verifier)
    ).json<{ refresh_token: string }>();
    const byB = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(b)),
    );
    expect(await errorOf(byB)).toBe('invalid_grant');
    const byA = await send(
      `${tenant.base}/oauth2/token`,
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(a)),
    );
    expect(byA.response.status).toBe(200);
  });

  it('a replayed refresh token revokes the grant: the rotated successor dies too', async () => {
    const c = await makeClient(tenant);
    const { code, verifier } = await freshCode(c);
    const first = await (
      await exchange(tenant, c, code, verifier)
    ).json<{ refresh_token: string }>();
    const refresh = (token: string) =>
      send(
        `${tenant.base}/oauth2/token`,
        form({ grant_type: 'refresh_token', refresh_token: token }, basic(c)),
      );
    const rotated = await refresh(first.refresh_token);
    expect(await rotated.roundTrips()).toBeLessThanOrEqual(2);
    const next = await rotated.json<{ refresh_token: string }>();
    expect(await errorOf(await refresh(first.refresh_token))).toBe('invalid_grant');
    expect(await errorOf(await refresh(next.refresh_token))).toBe('invalid_grant');
  });

  it('a refresh cannot widen the scope but may narrow it', async () => {
    const c = await makeClient(tenant);
    const { code, verifier } = await freshCode(c);
    const tokens = await (
      await exchange(tenant, c, code, verifier)
    ).json<{ refresh_token: string }>();
    const wide = await send(
      `${tenant.base}/oauth2/token`,
      form(
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'openid roles' },
        basic(c),
      ),
    );
    expect(await errorOf(wide)).toBe('invalid_scope');
    const narrow = await send(
      `${tenant.base}/oauth2/token`,
      form(
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'openid' },
        basic(c),
      ),
    );
    expect((await narrow.json()).scope).toBe('openid');
  });
});
