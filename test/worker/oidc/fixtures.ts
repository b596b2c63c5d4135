// OIDC test fixtures: clients are inserted straight into the database (the admin API for clients
// is built in parallel; switch `makeClient` to POST /admin/api/v1/tenants/{slug}/clients then).
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { encodeBase64url } from '../../../src/lib/encoding.ts';
import { sha256 } from '../../../src/lib/keys.ts';
import { hashClientSecret } from '../../../src/features/clients/repo.ts';
import { CookieJar, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions, type Sent } from '../harness.ts';

export interface TestClient {
  id: string;
  clientId: string;
  secret: string | null;
  redirectURI: string;
  postLogoutRedirectURI: string;
}

export async function makeClient(
  tenant: TestTenant,
  options: {
    type?: 'confidential' | 'public';
    firstParty?: boolean;
    grantTypes?: string[];
    scopes?: string[];
    clientId?: string;
  } = {},
): Promise<TestClient> {
  const type = options.type ?? 'confidential';
  const secret =
    type === 'confidential' ? encodeBase64url(crypto.getRandomValues(new Uint8Array(32))) : null;
  const clientId = options.clientId ?? `client-${crypto.randomUUID()}`;
  const redirectURI = 'https://app.example.com/callback';
  const postLogoutRedirectURI = 'https://app.example.com/bye';
  const grantTypes = options.grantTypes ?? ['authorization_code', 'refresh_token'];
  const scopes = options.scopes ?? ['openid', 'profile', 'email', 'offline_access', 'roles'];
  const result = await testDB().execute(sql`
    insert into oauth_clients (tenant_id, client_id, name, type, secret_hash, redirect_uris,
      post_logout_redirect_uris, grant_types, scopes, first_party, created_at, updated_at)
    values (${tenant.id}::uuid, ${clientId}, 'Test app', ${type},
      ${secret === null ? null : await hashClientSecret(secret)},
      array[${redirectURI}, 'http://127.0.0.1:8080/cb']::text[], array[${postLogoutRedirectURI}]::text[],
      ${`{${grantTypes.join(',')}}`}::text[], ${`{${scopes.join(',')}}`}::text[],
      ${options.firstParty ?? true}, now(), now())
    returning id`);
  return { id: String(result.rows[0]!.id), clientId, secret, redirectURI, postLogoutRedirectURI };
}

export async function signedIn(
  tenant: TestTenant,
): Promise<{ jar: CookieJar; userId: string; email: string }> {
  const email = uniqueEmail();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: 'correct horse battery', name: 'Ada Lovelace' }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { jar, email, userId: (await sent.json<{ user: { id: string } }>()).user.id };
}

export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: encodeBase64url(await sha256(verifier)) };
}

export function authorizeURL(
  tenant: TestTenant,
  client: TestClient,
  extra: Record<string, string> = {},
): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectURI,
    scope: 'openid profile email offline_access',
    state: 'st-123',
    nonce: 'n-456',
    ...extra,
  });
  for (const [name, value] of Object.entries(extra)) if (value === '') query.delete(name);
  return `${tenant.base}/oauth2/authorize?${query.toString()}`;
}

export function basic(client: TestClient): Record<string, string> {
  const encode = (text: string) => encodeURIComponent(text);
  return {
    Authorization: `Basic ${btoa(`${encode(client.clientId)}:${encode(client.secret ?? '')}`)}`,
  };
}

export function form(
  body: Record<string, string>,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: 'POST',
    body: new URLSearchParams(body).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  };
}

/** Authorize with a live session and return the code from the redirect. */
export async function getCode(
  tenant: TestTenant,
  client: TestClient,
  jar: CookieJar,
  extra: Record<string, string> = {},
  options: SendOptions = {},
): Promise<{ code: string; sent: Sent; location: URL }> {
  const sent = await send(authorizeURL(tenant, client, extra), { headers: jar.header() }, options);
  expect(sent.response.status).toBe(302);
  const location = new URL(sent.response.headers.get('Location')!);
  const code = location.searchParams.get('code');
  expect(code, location.toString()).not.toBeNull();
  return { code: code!, sent, location };
}

export async function exchange(
  tenant: TestTenant,
  client: TestClient,
  code: string,
  verifier: string | undefined,
  options: SendOptions = {},
): Promise<Sent> {
  const body: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectURI,
  };
  if (verifier !== undefined) body.code_verifier = verifier;
  const headers = client.secret === null ? {} : basic(client);
  if (client.secret === null) body.client_id = client.clientId;
  return send(`${tenant.base}/oauth2/token`, form(body, headers), options);
}

export async function count(query: ReturnType<typeof sql>): Promise<number> {
  const result = await testDB().execute(query);
  return Number(result.rows[0]?.n ?? 0);
}
