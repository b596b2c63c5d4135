// Issue 14: sign-up, sign-in and linking through a real OpenID Provider (panva's oidc-provider,
// run in Node by test/federation/global-setup.ts), driven through the Worker's start and
// callback endpoints with the round-trip budgets (start 1, callback 2) asserted.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ADMIN, bearer } from '../admin/fixtures.ts';
import { CookieJar, testDB, uniqueEmail } from '../fixtures.ts';
import { send } from '../harness.ts';
import {
  failedSignIns,
  federatedTenant,
  passwordUser,
  signInThrough,
  writtenFor,
} from './fixtures.ts';

async function auditTypes(tenantId: string): Promise<string[]> {
  const result = await testDB().execute(
    sql`select type from audit_events where tenant_id = ${tenantId}::uuid order by created_at, type`,
  );
  return result.rows.map((row) => String(row.type));
}

describe('federated sign-up and sign-in through oidc-provider', () => {
  it('creates the user and a session on first sign-in, within 1 + 2 round trips, and audits it', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    const { walk, callback, jar } = await signInThrough(fed, {
      sub: `sub-${email}`,
      email,
      email_verified: true,
      name: 'Ada Upstream',
    });
    expect(await walk.start.roundTrips()).toBe(1);
    // The browser-binding cookie is __Host- style HttpOnly and short-lived.
    const cookie = walk.start.response.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/gatehouse_federation=[A-Za-z0-9_-]{43}; Max-Age=600;.*HttpOnly/);
    const authorize = new URL(walk.start.response.headers.get('Location')!);
    expect(authorize.origin).toBe(fed.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(
      `https://gatehouse.test${fed.tenant.base}/v1/auth/oauth/acme/callback`,
    );

    expect(callback.response.status, await callback.response.clone().text()).toBe(303);
    expect(callback.response.headers.get('Location')).toBe(
      `https://gatehouse.test${fed.tenant.base}/signed-in`,
    );
    expect(await callback.roundTrips()).toBe(2);

    const session = await send(`${fed.tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(200);
    const body = await session.json<{ user: { email: string; email_verified: boolean } }>();
    expect(body.user.email).toBe(email);
    expect(body.user.email_verified).toBe(true);

    const amr = await testDB().execute(
      sql`select s.amr from sessions s join users u on u.id = s.user_id where u.email = ${email}`,
    );
    expect(String(amr.rows[0]!.amr)).toContain('fed');
    expect(await auditTypes(fed.tenant.id)).toEqual(
      expect.arrayContaining(['security.federation.signed_in', 'security.user.registered']),
    );
    const identities = await send(`${fed.tenant.base}/v1/auth/identities`, {
      headers: jar.header(),
    });
    expect(await identities.json()).toMatchObject({
      identities: [{ provider: 'acme', kind: 'oidc', email }],
    });
  });

  it('signs the same subject in again as the same user, without a second account', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    const account = { sub: `sub-${email}`, email, email_verified: true };
    await signInThrough(fed, account);
    const before = await writtenFor(fed.tenant.id);
    const again = await signInThrough(fed, account);
    expect(again.callback.response.status).toBe(303);
    const after = await writtenFor(fed.tenant.id);
    expect(after.users).toBe(before.users);
    expect(after.identities).toBe(before.identities);
    expect(after.sessions).toBe(before.sessions + 1);
  });
});

describe('the hosted sign-in page', () => {
  it('lists the enabled provider as a link to start, carrying the way back into authorize', async () => {
    const fed = await federatedTenant();
    const returnTo = '/oauth2/authorize?client_id=abc&response_type=code';
    const page = await send(`${fed.tenant.base}/login?return_to=${encodeURIComponent(returnTo)}`);
    expect(page.response.status).toBe(200);
    expect(await page.roundTrips()).toBeLessThanOrEqual(1);
    const body = await page.response.text();
    const href = /href="([^"]*\/v1\/auth\/oauth\/acme\/start[^"]*)"/.exec(body)?.[1];
    expect(href).toBeDefined();
    const start = new URL(href!.replaceAll('&amp;', '&'), 'https://gatehouse.test');
    expect(start.searchParams.get('redirect_to')).toBe(
      `https://gatehouse.test${fed.tenant.base}${returnTo}`,
    );
    const email = uniqueEmail();
    const { callback } = await signInThrough(
      fed,
      { sub: `page-${email}`, email, email_verified: true },
      new CookieJar(),
      { redirect_to: start.searchParams.get('redirect_to')! },
    );
    expect(callback.response.status).toBe(303);
    expect(callback.response.headers.get('Location')).toBe(
      `https://gatehouse.test${fed.tenant.base}${returnTo}`,
    );
  });
});

describe('linking rules', () => {
  it('an unverified address matching an account neither links nor signs in: 409, nothing written', async () => {
    const fed = await federatedTenant({
      tenant: { settings: { federation: { linkByEmail: true, defaultRedirectURL: null } } },
    });
    const email = uniqueEmail();
    await passwordUser(fed.tenant.base, email);
    const before = await writtenFor(fed.tenant.id);
    const { callback, jar } = await signInThrough(fed, {
      sub: `x-${email}`,
      email,
      email_verified: false,
    });
    expect(callback.response.status).toBe(409);
    expect(await callback.json()).toMatchObject({ error: 'account_exists' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    expect(await failedSignIns(fed.tenant.id)).toEqual(['account_exists']);
    const session = await send(`${fed.tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(401);
  });

  it('a verified address matching an account does not link when the tenant does not allow it (the default)', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    await passwordUser(fed.tenant.base, email);
    const before = await writtenFor(fed.tenant.id);
    const { callback } = await signInThrough(fed, {
      sub: `x-${email}`,
      email,
      email_verified: true,
    });
    expect(callback.response.status).toBe(409);
    expect(await callback.json()).toMatchObject({ error: 'account_exists' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
  });

  it('a verified address links to the matching account when the tenant allows linking by email', async () => {
    const fed = await federatedTenant({
      tenant: { settings: { federation: { linkByEmail: true, defaultRedirectURL: null } } },
    });
    const email = uniqueEmail();
    await passwordUser(fed.tenant.base, email);
    const before = await writtenFor(fed.tenant.id);
    const { callback, jar } = await signInThrough(fed, {
      sub: `x-${email}`,
      email: email.toUpperCase(),
      email_verified: true,
    });
    expect(callback.response.status).toBe(303);
    const after = await writtenFor(fed.tenant.id);
    expect(after.users).toBe(before.users);
    expect(after.identities).toBe(before.identities + 1);
    const session = await send(`${fed.tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect((await session.json<{ user: { email: string } }>()).user.email).toBe(email);
  });

  it('a provider not trusted for email_verified never links by email', async () => {
    const fed = await federatedTenant({
      tenant: { settings: { federation: { linkByEmail: true, defaultRedirectURL: null } } },
      provider: { trust_email_verified: false },
    });
    const email = uniqueEmail();
    await passwordUser(fed.tenant.base, email);
    const { callback } = await signInThrough(fed, {
      sub: `x-${email}`,
      email,
      email_verified: true,
    });
    expect(callback.response.status).toBe(409);
  });

  it('a signed-in user links, lists and unlinks an identity; another user cannot link it again', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    const jar = await passwordUser(fed.tenant.base, email);
    const account = { sub: `link-${email}`, email: uniqueEmail(), email_verified: false };
    const { walk, callback } = await signInThrough(fed, account, jar, { intent: 'link' });
    expect(await walk.start.roundTrips()).toBe(1); // the session is checked inside the state insert
    expect(callback.response.status).toBe(303);
    expect(await callback.roundTrips()).toBe(2);
    const listed = await send(`${fed.tenant.base}/v1/auth/identities`, { headers: jar.header() });
    expect(await listed.roundTrips()).toBe(2);
    const { identities } = await listed.json<{ identities: { id: string; provider: string }[] }>();
    expect(identities).toHaveLength(1);

    // Signing in through it now signs in the linked user.
    const signIn = await signInThrough(fed, account);
    const who = await send(`${fed.tenant.base}/v1/auth/session`, { headers: signIn.jar.header() });
    expect((await who.json<{ user: { email: string } }>()).user.email).toBe(email);

    // Another user may not take it.
    const other = await passwordUser(fed.tenant.base, uniqueEmail());
    const before = await writtenFor(fed.tenant.id);
    const stolen = await signInThrough(fed, account, other, { intent: 'link' });
    expect(stolen.callback.response.status).toBe(409);
    expect(await stolen.callback.json()).toMatchObject({ error: 'identity_in_use' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    expect(await failedSignIns(fed.tenant.id)).toEqual(['identity_in_use']);
    expect(await stolen.callback.roundTrips()).toBe(2);

    const unlinked = await send(`${fed.tenant.base}/v1/auth/identities/${identities[0]!.id}`, {
      method: 'DELETE',
      headers: jar.header(),
    });
    expect(unlinked.response.status).toBe(200);
    expect(await unlinked.roundTrips()).toBe(2);
    const audit = await auditTypes(fed.tenant.id);
    expect(audit).toContain('security.federation.identity_linked');
    expect(audit).toContain('security.federation.identity_unlinked');
  });

  it('refuses to unlink the last way to sign in (409 last_sign_in_method, nothing written)', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    const { jar } = await signInThrough(fed, { sub: `only-${email}`, email, email_verified: true });
    const listed = await send(`${fed.tenant.base}/v1/auth/identities`, { headers: jar.header() });
    const { identities } = await listed.json<{ identities: { id: string }[] }>();
    const before = await writtenFor(fed.tenant.id);
    const refused = await send(`${fed.tenant.base}/v1/auth/identities/${identities[0]!.id}`, {
      method: 'DELETE',
      headers: jar.header(),
    });
    expect(refused.response.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'last_sign_in_method' });
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
  });

  it('an operator cannot delete a provider that is some user’s only way to sign in, unless forced', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    await signInThrough(fed, { sub: `sole-${email}`, email, email_verified: true });
    const url = `${ADMIN}/tenants/${fed.tenant.slug}/identity-providers/${fed.provider}`;
    const before = await writtenFor(fed.tenant.id);
    const refused = await send(url, { method: 'DELETE', headers: bearer(fed.key) });
    expect(refused.response.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'provider_in_use', stranded_users: 1 });
    expect(await refused.roundTrips()).toBe(2); // the key, then the guarded delete
    expect(await writtenFor(fed.tenant.id)).toEqual(before);
    const bad = await send(`${url}?force=yes`, { method: 'DELETE', headers: bearer(fed.key) });
    expect(bad.response.status).toBe(400);
    const forced = await send(`${url}?force=true`, { method: 'DELETE', headers: bearer(fed.key) });
    expect(forced.response.status).toBe(200);
    expect((await writtenFor(fed.tenant.id)).identities).toBe(0);
  });

  it('a provider whose users all keep another way to sign in deletes without force', async () => {
    const fed = await federatedTenant();
    const email = uniqueEmail();
    const jar = await passwordUser(fed.tenant.base, email);
    await signInThrough(fed, { sub: `kept-${email}`, email: uniqueEmail() }, jar, {
      intent: 'link',
    });
    expect((await writtenFor(fed.tenant.id)).identities).toBe(1);
    const url = `${ADMIN}/tenants/${fed.tenant.slug}/identity-providers/${fed.provider}`;
    const deleted = await send(url, { method: 'DELETE', headers: bearer(fed.key) });
    expect(deleted.response.status).toBe(200);
    expect((await writtenFor(fed.tenant.id)).identities).toBe(0);
  });

  it('passes the same MFA gate as a password sign-in: a user with TOTP gets the MFA step, no session', async () => {
    const fed = await federatedTenant({
      tenant: { settings: { mfa: { policy: 'required', adminRoles: [] } } } as never,
    });
    const email = uniqueEmail();
    const { callback, jar } = await signInThrough(fed, {
      sub: `mfa-${email}`,
      email,
      email_verified: true,
    });
    // The tenant requires a second factor and the new user has none: the hosted enrolment notice.
    expect(callback.response.status).toBe(403);
    const written = await writtenFor(fed.tenant.id);
    expect(written.sessions).toBe(0);
    expect(written.mfa_tokens).toBe(1);
    const session = await send(`${fed.tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(401);
  });
});
