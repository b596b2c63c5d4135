// Issue 14: Google and GitHub through arctic, against loopback servers that speak their token
// and user endpoints (test/federation/upstream.ts; DEV_SOCIAL_BASE_URL points the endpoint
// constants there, a setting production refuses). GitHub's unverified primary address must not
// link to an existing account.
import { describe, expect, it } from 'vitest';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { CookieJar, makeTenant, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, testEnv } from '../harness.ts';
import { visitCallback, writtenFor } from './fixtures.ts';

const socialBase = (testEnv as unknown as { DEV_SOCIAL_BASE_URL: string }).DEV_SOCIAL_BASE_URL;

async function socialTenant(
  kind: 'google' | 'github',
  settings: Record<string, unknown> = {},
): Promise<{ tenant: TestTenant; clientId: string }> {
  const tenant = await makeTenant({ settings });
  const key = (await makeKey(await makeOperator())).key;
  const clientId = `${kind}-${tenant.slug}`;
  const created = await send(
    `${ADMIN}/tenants/${tenant.slug}/identity-providers`,
    jsonRequest('POST', { kind, client_id: clientId, client_secret: 'social-secret' }, bearer(key)),
  );
  expect(created.response.status).toBe(201);
  return { tenant, clientId };
}

async function signIn(
  kind: 'google' | 'github',
  tenant: TestTenant,
  clientId: string,
  account: { sub: string; email: string; email_verified: boolean },
) {
  await fetch(`${socialBase}/__test/queue-login`, {
    method: 'POST',
    body: JSON.stringify({ client_id: clientId, account }),
  });
  const jar = new CookieJar();
  const start = await send(`${tenant.base}/v1/auth/oauth/${kind}/start`);
  expect(start.response.status).toBe(302);
  expect(await start.roundTrips()).toBe(1);
  jar.store(start.response);
  const authorize = new URL(start.response.headers.get('Location')!);
  expect(authorize.href.startsWith(`${socialBase}/${kind}/authorize`)).toBe(true);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  const upstream = await fetch(authorize, { redirect: 'manual' });
  const callback = await visitCallback(upstream.headers.get('Location')!, jar);
  return { callback, jar };
}

describe('Google through arctic', () => {
  it('signs up with a verified Google address: signature, issuer, audience and nonce checked; 2 round trips', async () => {
    const { tenant, clientId } = await socialTenant('google');
    const email = uniqueEmail();
    const { callback, jar } = await signIn('google', tenant, clientId, {
      sub: `g-${email}`,
      email,
      email_verified: true,
    });
    expect(callback.response.status, await callback.response.clone().text()).toBe(303);
    expect(await callback.roundTrips()).toBe(2);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(await session.json()).toMatchObject({ user: { email, email_verified: true } });
  });
});

describe('GitHub through arctic', () => {
  it('signs up with the primary verified address from /user/emails', async () => {
    const { tenant, clientId } = await socialTenant('github');
    const email = uniqueEmail();
    const { callback, jar } = await signIn('github', tenant, clientId, {
      sub: String(Date.now()),
      email,
      email_verified: true,
    });
    expect(callback.response.status, await callback.response.clone().text()).toBe(303);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(await session.json()).toMatchObject({ user: { email, email_verified: true } });
  });

  it('an unverified primary address matching an account neither links nor signs in: nothing written', async () => {
    const { tenant, clientId } = await socialTenant('github', {
      federation: { linkByEmail: true, defaultRedirectURL: null },
    });
    const email = uniqueEmail();
    const registered = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery staple' }),
    );
    expect(registered.response.status).toBe(201);
    const before = await writtenFor(tenant.id);
    const { callback, jar } = await signIn('github', tenant, clientId, {
      sub: String(Date.now() + 1),
      email,
      email_verified: false,
    });
    expect(callback.response.status).toBe(409);
    expect(await callback.json()).toMatchObject({ error: 'account_exists' });
    expect(await writtenFor(tenant.id)).toEqual(before);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(401);
  });

  it('the same address verified does link when the tenant allows linking by email', async () => {
    const { tenant, clientId } = await socialTenant('github', {
      federation: { linkByEmail: true, defaultRedirectURL: null },
    });
    const email = uniqueEmail();
    await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password: 'correct horse battery staple' }),
    );
    const { callback } = await signIn('github', tenant, clientId, {
      sub: String(Date.now() + 2),
      email,
      email_verified: true,
    });
    expect(callback.response.status).toBe(303);
  });
});
