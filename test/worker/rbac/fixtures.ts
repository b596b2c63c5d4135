// RBAC test helpers: services called directly with the real database, users made over HTTP
// (so they have sessions to exchange for tokens) or straight in SQL (when only a row is needed).
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { systemClock } from '../../../src/deps.ts';
import type { RbacDeps } from '../../../src/features/rbac/checks.ts';
import type { TenantTarget } from '../../../src/features/rbac/sql.ts';
import { CookieJar, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

export function rbacDeps(): RbacDeps {
  return { db: testDB(), clock: systemClock };
}

/** The tenant as an unbound caller (an operator, say) names it. */
export function targetOf(tenant: TestTenant, boundTenantId: string | null = null): TenantTarget {
  return {
    slug: tenant.slug,
    boundTenantId,
    actor: { type: 'system', id: 'rbac-test', ip: null, userAgent: null },
  };
}

/** A user row with no password and no session. */
export async function insertUser(tenant: TestTenant): Promise<string> {
  const id = crypto.randomUUID();
  const email = uniqueEmail();
  await testDB().execute(sql`
    insert into users (id, tenant_id, email, email_normalized) values (${id}::uuid, ${tenant.id}::uuid, ${email}, ${email})`);
  return id;
}

/** A registered, signed-in user: `jar` carries the session cookie. */
export async function signedUp(tenant: TestTenant): Promise<{ jar: CookieJar; userId: string }> {
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email: uniqueEmail(), password: 'correct horse battery' }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { jar, userId: (await sent.json<{ user: { id: string } }>()).user.id };
}

/** Audit events of one tenant of a type, newest last. */
export async function auditEvents(
  tenantId: string,
  type: string,
): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(sql`
    select type, actor_type, actor_id, target_type, target_id, ip, details from audit_events
    where tenant_id = ${tenantId}::uuid and type = ${type} order by created_at, id`);
  return result.rows;
}

export async function count(table: string, tenantId: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from ${sql.identifier(table)} where tenant_id = ${tenantId}::uuid`,
  );
  return Number(result.rows[0]?.n);
}
