// OAuth client test helpers: the admin API called with a real API key, and direct reads of the
// stored rows (to prove what is and is not kept).
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { ADMIN, bearer } from '../admin/fixtures.ts';
import { testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type Sent } from '../harness.ts';

export interface ClientBody {
  client_id: string;
  name: string;
  type: 'confidential' | 'public';
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  scopes: string[];
  first_party: boolean;
  access_token_ttl_seconds: number | null;
  id_token_ttl_seconds: number | null;
  refresh_token_ttl_seconds: number | null;
  created_at: string;
  updated_at: string;
  secret_rotated_at: string | null;
}

export const clientsPath = (tenant: { slug: string }, rest = ''): string =>
  `${ADMIN}/tenants/${tenant.slug}/clients${rest}`;

export function adminCall(
  key: string,
  tenant: { slug: string },
  method: string,
  rest = '',
  body?: unknown,
): Promise<Sent> {
  if (body === undefined) return send(clientsPath(tenant, rest), { method, headers: bearer(key) });
  return send(clientsPath(tenant, rest), jsonRequest(method, body, bearer(key)));
}

export const WEB_CLIENT = {
  name: 'Web app',
  type: 'confidential',
  redirect_uris: ['https://app.example.com/callback'],
  post_logout_redirect_uris: ['https://app.example.com/'],
  scopes: ['openid', 'profile', 'email', 'offline_access'],
} as const;

/** Registers a client over HTTP; returns the body (client and, for confidential, the secret). */
export async function registerClient(
  key: string,
  tenant: TestTenant,
  body: Record<string, unknown> = WEB_CLIENT,
): Promise<{ client: ClientBody; client_secret: string | null }> {
  const sent = await adminCall(key, tenant, 'POST', '', body);
  expect(sent.response.status, await sent.response.clone().text()).toBe(201);
  return sent.json();
}

export async function clientRow(clientId: string): Promise<Record<string, unknown> | undefined> {
  const result = await testDB().execute(
    sql`select * from oauth_clients where client_id = ${clientId}`,
  );
  return result.rows[0];
}

export async function clientCount(tenantId: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from oauth_clients where tenant_id = ${tenantId}::uuid`,
  );
  return Number(result.rows[0]?.n);
}

export async function oauthEvents(
  tenantId: string,
  type: string,
): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(sql`
    select type, actor_type, actor_id, target_type, target_id, details from audit_events
    where tenant_id = ${tenantId}::uuid and type = ${type} order by created_at, id`);
  return result.rows;
}
