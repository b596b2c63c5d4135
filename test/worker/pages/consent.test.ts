// The hosted /consent page (OIDC contract, hand-off 3): a session is required, the client and
// the requested scopes are shown in words, Allow upserts oauth_consents (union of scopes) with
// the oauth.consent.granted audit event, Deny returns consent=denied, a forged form writes nothing.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import { auditTypes, registerUser, type SignedInUser } from '../mfa/helpers.ts';
import { authorizeReturnTo, openPage, submit } from './helpers.ts';

let tenant: TestTenant;
let clientId: string;

beforeAll(async () => {
  tenant = await makeTenant();
  clientId = `app-${crypto.randomUUID().slice(0, 8)}`;
  await testDB().execute(sql`
    insert into oauth_clients (tenant_id, client_id, name, type, redirect_uris, grant_types, scopes, first_party, created_at, updated_at)
    values (${tenant.id}::uuid, ${clientId}, 'Photo <Printer>', 'public', array['https://app.example.com/cb'],
      array['authorization_code'], array['openid','email','profile','offline_access'], false, now(), now())`);
});

async function consentRow(user: SignedInUser): Promise<string[] | null> {
  const result = await testDB().execute(sql`
    select c.scopes::text as scopes from oauth_consents c join users u on u.id = c.user_id
    where u.tenant_id = ${tenant.id}::uuid and u.email_normalized = ${user.email}`);
  const row = result.rows[0];
  return row === undefined ? null : String(row.scopes).replace(/[{}]/g, '').split(',');
}

function consentURL(returnTo: string): string {
  return `${tenant.base}/consent?return_to=${encodeURIComponent(returnTo)}`;
}

describe('consent page', () => {
  it('sends a browser without a session to /login, carrying return_to', async () => {
    const returnTo = authorizeReturnTo({ client_id: clientId });
    const sent = await send(consentURL(returnTo), { redirect: 'manual' });
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe(
      `${tenant.base}/login?return_to=${encodeURIComponent(returnTo)}`,
    );
  });

  it('shows the client and its scopes in words; Allow stores the union of scopes and audits it', async () => {
    const user = await registerUser(tenant);
    const returnTo = authorizeReturnTo({ client_id: clientId, scope: 'openid email' });
    const page = await openPage(consentURL(returnTo), user.jar);
    expect(page.sent.response.status).toBe(200);
    expect(page.html).toContain('Photo &lt;Printer&gt;');
    expect(page.html).toContain('See your email address');
    expect(page.html).not.toContain('See your name');
    expect(await page.sent.roundTrips()).toBeLessThanOrEqual(2);

    const allowed = await submit(
      `${tenant.base}/consent`,
      { csrf_token: page.csrf, return_to: returnTo, decision: 'allow' },
      user.jar,
    );
    expect(allowed.response.status).toBe(303);
    expect(allowed.response.headers.get('Location')).toBe(`${tenant.base}${returnTo}`);
    expect(await allowed.roundTrips()).toBeLessThanOrEqual(3);
    expect(await consentRow(user)).toEqual(['email', 'openid']);
    expect(await auditTypes(tenant.id, 'oauth.consent.granted')).toBeGreaterThanOrEqual(1);

    // A later, different request widens the grant; a scope the client lacks is never stored.
    const wider = authorizeReturnTo({ client_id: clientId, scope: 'openid profile admin' });
    const again = await openPage(consentURL(wider), user.jar);
    const second = await submit(
      `${tenant.base}/consent`,
      { csrf_token: again.csrf, return_to: wider, decision: 'allow' },
      user.jar,
    );
    expect(second.response.status).toBe(303);
    expect(await consentRow(user)).toEqual(['email', 'openid', 'profile']);
  });

  it('Deny returns to authorize with consent=denied and stores nothing', async () => {
    const user = await registerUser(tenant);
    const returnTo = authorizeReturnTo({ client_id: clientId });
    const page = await openPage(consentURL(returnTo), user.jar);
    const denied = await submit(
      `${tenant.base}/consent`,
      { csrf_token: page.csrf, return_to: returnTo, decision: 'deny' },
      user.jar,
    );
    expect(denied.response.status).toBe(303);
    expect(denied.response.headers.get('Location')).toBe(
      `${tenant.base}${returnTo}&consent=denied`,
    );
    expect(await consentRow(user)).toBeNull();
  });

  it('refuses a forged Allow (no token, foreign Origin) and writes nothing', async () => {
    const user = await registerUser(tenant);
    const returnTo = authorizeReturnTo({ client_id: clientId });
    const page = await openPage(consentURL(returnTo), user.jar);
    const noToken = await submit(
      `${tenant.base}/consent`,
      { return_to: returnTo, decision: 'allow' },
      user.jar,
    );
    const foreign = await submit(
      `${tenant.base}/consent`,
      { csrf_token: page.csrf, return_to: returnTo, decision: 'allow' },
      user.jar,
      { origin: 'https://evil.example' },
    );
    expect(noToken.response.status).toBe(403);
    expect(foreign.response.status).toBe(403);
    expect(await consentRow(user)).toBeNull();
  });

  it('answers an unknown client or a bad return_to with a 400 page, not a redirect', async () => {
    const user = await registerUser(tenant);
    for (const url of [
      consentURL(authorizeReturnTo({ client_id: 'nope' })),
      `${tenant.base}/consent?return_to=${encodeURIComponent('https://evil.example/')}`,
    ]) {
      const sent = await send(url, { headers: user.jar.header(), redirect: 'manual' });
      expect(sent.response.status).toBe(400);
      expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
    }
  });
});
