// A user's consents to third-party clients, as the user sees and revokes them.
import { sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { auditInsertEach, type AuditEvent } from '../../audit/events.ts';
import { timestamp } from '../../sessions/repo.ts';
import { parseTextArray } from '../../tenants/repo.ts';

export interface Consent {
  clientId: string;
  clientName: string;
  scopes: string[];
  grantedAt: Date;
  updatedAt: Date;
}

/** Every consent of the user, oldest first. One round trip. */
export async function listConsents(
  db: Database,
  tenantId: string,
  userId: string,
): Promise<Consent[]> {
  const result = await db.execute(sql`
    select c.client_id, c.name, x.scopes, x.granted_at, x.updated_at
    from oauth_consents x join oauth_clients c on c.id = x.client_id
    where x.tenant_id = ${tenantId}::uuid and x.user_id = ${userId}::uuid
    order by x.granted_at, c.client_id`);
  return result.rows.map((row) => ({
    clientId: String(row.client_id),
    clientName: String(row.name),
    scopes: parseTextArray(row.scopes),
    grantedAt: timestamp(row.granted_at),
    updatedAt: timestamp(row.updated_at),
  }));
}

/**
 * Deletes the user's consent to the client named by its public id, with the audit event in the
 * same statement (written only when a consent was there). One round trip. Answers the client's
 * internal id (null: the tenant has no such client) and whether a consent was removed.
 */
export async function deleteConsent(
  db: Database,
  tenantId: string,
  userId: string,
  clientId: string,
  event: Omit<AuditEvent, 'tenantId'>,
): Promise<{ clientInternalId: string | null; removed: boolean }> {
  const result = await db.execute(sql`
    with c as (
      select id from oauth_clients where tenant_id = ${tenantId}::uuid and client_id = ${clientId}
    ),
    d as (
      delete from oauth_consents
      where tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid and client_id = (select id from c)
      returning client_id
    ),
    audit as (${auditInsertEach({ ...event, tenantId }, sql`d`, { targetId: sql`d.client_id` })})
    select (select id from c) as client_internal_id, (select count(*) from d)::int as removed`);
  const row = result.rows[0];
  const id = row?.client_internal_id;
  return {
    clientInternalId: id === null || id === undefined ? null : String(id),
    removed: Number(row?.removed ?? 0) > 0,
  };
}
