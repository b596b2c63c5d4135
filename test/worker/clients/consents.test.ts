// Issue 13: the user's consent API. A user sees the applications they let act for them and
// withdraws one, by session cookie (Origin-checked on writes) or bearer access token; the
// withdrawal is audited in the same statement and is idempotent; nobody sees another's consents.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type * as grants from '../../../src/features/oidc/token-repo.ts';
import { revokeClientGrants } from '../../../src/features/oidc/token-repo.ts';
import { makeKey, makeOperator } from '../admin/fixtures.ts';
import { makeTenant, testDB, type CookieJar, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { signedUp } from '../rbac/fixtures.ts';
import { clientRow, registerClient, type ClientBody } from './fixtures.ts';

// Calls through to the protocol's revokeClientGrants (src/features/oidc/token-repo.ts), recording the calls.
vi.mock('../../../src/features/oidc/token-repo.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof grants>();
  return { ...actual, revokeClientGrants: vi.fn(actual.revokeClientGrants) };
});

let key: string;

beforeAll(async () => {
  key = (await makeKey(await makeOperator())).key;
});

async function grant(
  tenant: TestTenant,
  userId: string,
  clientId: string,
  scopes: string[],
  grantedAt = new Date(),
): Promise<void> {
  const client = await clientRow(clientId);
  await testDB().execute(sql`
    insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
    values (${tenant.id}::uuid, ${userId}::uuid, ${String(client?.id)}::uuid,
      array[${sql.join(
        scopes.map((s) => sql`${s}`),
        sql`, `,
      )}]::text[], ${grantedAt.toISOString()}::timestamptz, ${grantedAt.toISOString()}::timestamptz)`);
}

async function consentRows(userId: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from oauth_consents where user_id = ${userId}::uuid`,
  );
  return Number(result.rows[0]?.n);
}

async function revokedEvents(tenantId: string): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(sql`
    select actor_type, actor_id, target_type, target_id, details from audit_events
    where tenant_id = ${tenantId}::uuid and type = 'oauth.consent.revoked' order by created_at`);
  return result.rows;
}

async function accessToken(tenant: TestTenant, jar: CookieJar): Promise<string> {
  const sent = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(sent.response.status).toBe(200);
  return (await sent.json<{ access_token: string }>()).access_token;
}

interface Setup {
  tenant: TestTenant;
  user: { jar: CookieJar; userId: string };
  other: { jar: CookieJar; userId: string };
  mail: ClientBody;
  calendar: ClientBody;
}

async function setup(): Promise<Setup> {
  const tenant = await makeTenant();
  const [user, other] = [await signedUp(tenant), await signedUp(tenant)];
  const mail = (
    await registerClient(key, tenant, {
      name: 'Mail',
      type: 'confidential',
      redirect_uris: ['https://mail.example/cb'],
    })
  ).client;
  const calendar = (
    await registerClient(key, tenant, {
      name: 'Calendar',
      type: 'public',
      redirect_uris: ['https://cal.example/cb'],
    })
  ).client;
  await grant(
    tenant,
    user.userId,
    mail.client_id,
    ['openid', 'email'],
    new Date(Date.now() - 60_000),
  );
  await grant(tenant, user.userId, calendar.client_id, ['openid', 'profile']);
  await grant(tenant, other.userId, mail.client_id, ['openid']);
  return { tenant, user, other, mail, calendar };
}

describe('GET /v1/auth/consents', () => {
  it("lists the user's own consents, oldest first, with client name and scopes, in two round trips by cookie", async () => {
    const { tenant, user, mail, calendar } = await setup();
    const sent = await send(`${tenant.base}/v1/auth/consents`, { headers: user.jar.header() });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2); // the session, then the consents
    const { consents } = await sent.json<{ consents: Record<string, unknown>[] }>();
    expect(consents).toEqual([
      {
        client_id: mail.client_id,
        client_name: 'Mail',
        scopes: ['openid', 'email'],
        granted_at: expect.any(String),
        updated_at: expect.any(String),
      },
      {
        client_id: calendar.client_id,
        client_name: 'Calendar',
        scopes: ['openid', 'profile'],
        granted_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
  });

  it('answers a bearer access token in one round trip once the keys are cached', async () => {
    const { tenant, user, mail } = await setup();
    const token = await accessToken(tenant, user.jar);
    const headers = { Authorization: `Bearer ${token}` };
    await send(`${tenant.base}/v1/auth/consents`, { headers });
    const sent = await send(`${tenant.base}/v1/auth/consents`, { headers });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(1);
    const { consents } = await sent.json<{ consents: { client_id: string }[] }>();
    expect(consents.map((c) => c.client_id)).toContain(mail.client_id);
  });

  it('refuses no credentials, a junk token, and a token of another tenant', async () => {
    const { tenant, user } = await setup();
    const none = await send(`${tenant.base}/v1/auth/consents`);
    expect(none.response.status).toBe(401);
    const junk = await send(`${tenant.base}/v1/auth/consents`, {
      headers: { Authorization: 'Bearer a.b.c' },
    });
    expect(junk.response.status).toBe(401);
    expect(await junk.json()).toMatchObject({ error: 'invalid_token' });
    const elsewhere = await makeTenant();
    const token = await accessToken(tenant, user.jar);
    const crossed = await send(`${elsewhere.base}/v1/auth/consents`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(crossed.response.status).toBe(401);
    // Nor does the cookie of one tenant open another's.
    const cookie = await send(`${elsewhere.base}/v1/auth/consents`, { headers: user.jar.header() });
    expect(cookie.response.status).toBe(401);
  });
});

describe('DELETE /v1/auth/consents/{client_id}', () => {
  it('deletes only that consent, audits oauth.consent.revoked in the same statement, in two round trips', async () => {
    const { tenant, user, other, mail, calendar } = await setup();
    const sent = await send(`${tenant.base}/v1/auth/consents/${mail.client_id}`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toEqual({ status: 'revoked', consent_removed: true });
    // The session, then the delete with its event and the grants' revocation.
    expect(await sent.roundTrips()).toBeLessThanOrEqual(3);
    const list = await send(`${tenant.base}/v1/auth/consents`, { headers: user.jar.header() });
    const { consents } = await list.json<{ consents: { client_id: string }[] }>();
    expect(consents.map((c) => c.client_id)).toEqual([calendar.client_id]);
    expect(await consentRows(other.userId)).toBe(1); // the other user's consent to Mail stays
    const events = await revokedEvents(tenant.id);
    expect(events).toEqual([
      {
        actor_type: 'user',
        actor_id: user.userId,
        target_type: 'oauth_client',
        target_id: String((await clientRow(mail.client_id))?.id),
        details: { client_id: mail.client_id },
      },
    ]);
  });

  it("revokes the client's grants for this user only, by the client's internal id", async () => {
    const { tenant, user, mail } = await setup();
    const calls = vi.mocked(revokeClientGrants);
    calls.mockClear();
    const sent = await send(`${tenant.base}/v1/auth/consents/${mail.client_id}`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(sent.response.status).toBe(200);
    expect(calls).toHaveBeenCalledTimes(1);
    expect(calls.mock.calls[0]!.slice(1, 4)).toEqual([
      tenant.id,
      user.userId,
      String((await clientRow(mail.client_id))?.id),
    ]);
    // An unknown client revokes nothing.
    calls.mockClear();
    await send(`${tenant.base}/v1/auth/consents/AAAAAAAAAAAAAAAAAAAAAA`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(calls).not.toHaveBeenCalled();
  });

  it('is idempotent: a second withdrawal succeeds, removes nothing and audits nothing', async () => {
    const { tenant, user, mail } = await setup();
    const path = `${tenant.base}/v1/auth/consents/${mail.client_id}`;
    await send(path, { method: 'DELETE', headers: user.jar.header() });
    const again = await send(path, { method: 'DELETE', headers: user.jar.header() });
    expect(again.response.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'revoked', consent_removed: false });
    expect(await revokedEvents(tenant.id)).toHaveLength(1);
  });

  it('answers 404 for a client the tenant does not have (malformed ids without a query)', async () => {
    const { tenant, user } = await setup();
    const elsewhere = await makeTenant();
    const foreign = (await registerClient(key, elsewhere)).client;
    for (const id of [foreign.client_id, 'AAAAAAAAAAAAAAAAAAAAAA', 'nope']) {
      const sent = await send(`${tenant.base}/v1/auth/consents/${id}`, {
        method: 'DELETE',
        headers: user.jar.header(),
      });
      expect(sent.response.status, id).toBe(404);
      expect(await sent.json()).toMatchObject({ error: 'not_found' });
    }
    expect(await consentRows(user.userId)).toBe(2);
  });

  it('refuses a cookie write from a foreign Origin (403, nothing deleted), but takes a bearer token without one', async () => {
    const { tenant, user, mail, calendar } = await setup();
    const foreign = await send(`${tenant.base}/v1/auth/consents/${mail.client_id}`, {
      method: 'DELETE',
      headers: { ...user.jar.header(), Origin: 'https://evil.example' },
    });
    expect(foreign.response.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: 'origin_not_allowed' });
    expect(await consentRows(user.userId)).toBe(2);
    expect(await revokedEvents(tenant.id)).toEqual([]);

    const token = await accessToken(tenant, user.jar);
    const byToken = await send(`${tenant.base}/v1/auth/consents/${calendar.client_id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' },
    });
    expect(byToken.response.status).toBe(200);
    expect(await consentRows(user.userId)).toBe(1);
  });

  it('goes with the client: deleting a client removes every consent to it', async () => {
    const { tenant, user, other, mail } = await setup();
    const sent = await send(`/admin/api/v1/tenants/${tenant.slug}/clients/${mail.client_id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(sent.response.status).toBe(200);
    expect(await consentRows(user.userId)).toBe(1);
    expect(await consentRows(other.userId)).toBe(0);
  });
});
