// Federation test fixtures: a tenant with an identity provider configured over the admin API,
// a client registered at the upstream (oidc-provider's dynamic registration) for that tenant's
// callback, and a "browser" that walks start → provider → callback with two cookie jars.
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { CreateTenantInput } from '../../../src/features/tenants/service.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, testEnv, type Sent, type SendOptions } from '../harness.ts';

export interface FederationEnv {
  TEST_FEDERATION_ISSUER: string;
  TEST_FEDERATION_ROGUE_ISSUER: string;
}

export const upstream = testEnv as unknown as FederationEnv;

export interface UpstreamAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface FederatedTenant {
  tenant: TestTenant;
  key: string;
  provider: string;
  clientId: string;
  issuer: string;
}

let adminKey: string | null = null;

async function key(): Promise<string> {
  adminKey ??= (await makeKey(await makeOperator())).key;
  return adminKey;
}

export function callbackURL(tenant: TestTenant, provider: string): string {
  return `https://gatehouse.test/t/${tenant.slug}/v1/auth/oauth/${provider}/callback`;
}

/** Registers a client at the real upstream for the tenant's callback: its id and secret. */
async function registerUpstreamClient(
  redirectURI: string,
): Promise<{ client_id: string; client_secret: string }> {
  const res = await fetch(`${upstream.TEST_FEDERATION_ISSUER}/reg`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectURI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { client_id: string; client_secret: string };
}

/** A tenant whose `provider` is the real upstream (or the rogue one), configured over HTTP. */
export async function federatedTenant(
  options: {
    tenant?: Partial<CreateTenantInput>;
    rogue?: boolean;
    provider?: Record<string, unknown>;
  } = {},
): Promise<FederatedTenant> {
  const tenant = await makeTenant(options.tenant);
  const provider = 'acme';
  const issuer = options.rogue
    ? upstream.TEST_FEDERATION_ROGUE_ISSUER
    : upstream.TEST_FEDERATION_ISSUER;
  const client = options.rogue
    ? { client_id: `rogue-${tenant.slug}`, client_secret: 'rogue-secret' }
    : await registerUpstreamClient(callbackURL(tenant, provider));
  const adminKey = await key();
  const created = await send(
    `${ADMIN}/tenants/${tenant.slug}/identity-providers`,
    jsonRequest(
      'POST',
      {
        kind: 'oidc',
        name: provider,
        issuer,
        client_id: client.client_id,
        client_secret: client.client_secret,
        ...options.provider,
      },
      bearer(adminKey),
    ),
  );
  expect(created.response.status).toBe(201);
  return { tenant, key: adminKey, provider, clientId: client.client_id, issuer };
}

const PASSWORD = 'correct horse battery staple';

/** A password account in the tenant, signed in: its jar carries the session. */
export async function passwordUser(base: string, email: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const sent = await send(
    `${base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }),
  );
  expect(sent.response.status).toBe(201);
  jar.store(sent.response);
  return jar;
}

/** The account the upstream signs in at this client's next authorization (null: refuses). */
export async function queueLogin(fed: FederatedTenant, account: UpstreamAccount | null) {
  const res = await fetch(`${upstream.TEST_FEDERATION_ISSUER}/__test/queue-login`, {
    method: 'POST',
    body: JSON.stringify({ client_id: fed.clientId, account }),
  });
  expect(res.status).toBe(200);
}

export async function rogueMode(fed: FederatedTenant, mode: string) {
  const res = await fetch(`${upstream.TEST_FEDERATION_ROGUE_ISSUER}/__test/mode`, {
    method: 'POST',
    body: JSON.stringify({ client_id: fed.clientId, mode }),
  });
  expect(res.status).toBe(200);
}

export interface Walk {
  start: Sent;
  /** The provider's redirect back to Gatehouse (the callback URL with code and state). */
  callbackURL: string;
}

/**
 * GET start with the Gatehouse jar, then follow the upstream's redirects (its own cookie jar)
 * until it sends the browser back to gatehouse.test: the callback URL, not yet visited.
 */
export async function walkToCallback(
  fed: FederatedTenant,
  jar: CookieJar,
  query: Record<string, string> = {},
  options: SendOptions = {},
): Promise<Walk> {
  const search = new URLSearchParams(query).toString();
  const start = await send(
    `${fed.tenant.base}/v1/auth/oauth/${fed.provider}/start${search === '' ? '' : `?${search}`}`,
    { headers: jar.header() },
    options,
  );
  expect(start.response.status, `${await peek(start.response)} ${start.logs.join('\n')}`).toBe(302);
  jar.store(start.response);
  const upstreamJar = new CookieJar();
  let location = start.response.headers.get('Location')!;
  for (let hop = 0; hop < 10; hop += 1) {
    if (location.startsWith('https://gatehouse.test/')) return { start, callbackURL: location };
    const res = await fetch(location, { redirect: 'manual', headers: upstreamJar.header() });
    upstreamJar.store(res);
    const next = res.headers.get('Location');
    if (next === null) throw new Error(`upstream stopped at ${res.status}: ${await res.text()}`);
    location = new URL(next, location).href;
  }
  throw new Error('too many upstream redirects');
}

async function peek(response: Response): Promise<string> {
  if (response.status === 302) return '';
  return response.clone().text();
}

/** Visits the callback URL with the jar; stores the cookies it sets. */
export async function visitCallback(
  url: string,
  jar: CookieJar,
  options: SendOptions = {},
): Promise<Sent> {
  const sent = await send(url, { headers: jar.header() }, options);
  jar.store(sent.response);
  return sent;
}

/** Start to callback in one go. */
export async function signInThrough(
  fed: FederatedTenant,
  account: UpstreamAccount | null,
  jar = new CookieJar(),
  query: Record<string, string> = {},
): Promise<{ walk: Walk; callback: Sent; jar: CookieJar }> {
  await queueLogin(fed, account);
  const walk = await walkToCallback(fed, jar, query);
  const callback = await visitCallback(walk.callbackURL, jar);
  return { walk, callback, jar };
}

/**
 * Rows that a refused callback must not have written, for before/after comparison. Its own
 * `security.federation.login.failed` record is left out: see `failedSignIns`.
 */
export async function writtenFor(tenantId: string): Promise<Record<string, number>> {
  const result = await testDB().execute(sql`
    select
      (select count(*) from users where tenant_id = ${tenantId}::uuid)::int as users,
      (select count(*) from federated_identities where tenant_id = ${tenantId}::uuid)::int as identities,
      (select count(*) from sessions where tenant_id = ${tenantId}::uuid)::int as sessions,
      (select count(*) from mfa_tokens where tenant_id = ${tenantId}::uuid)::int as mfa_tokens,
      (select count(*) from audit_events where tenant_id = ${tenantId}::uuid and type like 'security.%'
        and type <> 'security.federation.login.failed')::int as audit`);
  const row = result.rows[0]!;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

export async function stateRows(tenantId: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from federation_states where tenant_id = ${tenantId}::uuid`,
  );
  return Number(result.rows[0]!.n);
}

/** The reasons of the tenant's `security.federation.login.failed` events, oldest first. */
export async function failedSignIns(tenantId: string): Promise<string[]> {
  const result = await testDB().execute(sql`
    select details->>'reason' as reason from audit_events
    where tenant_id = ${tenantId}::uuid and type = 'security.federation.login.failed'
    order by created_at, id`);
  return result.rows.map((row) => String(row.reason));
}
