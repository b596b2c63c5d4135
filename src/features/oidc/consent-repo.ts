import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert } from '../audit/events.ts';

export interface ConsentGrant {
  tenantId: string;
  userId: string;
  /** The client's internal row id (oauth_clients.id). */
  clientInternalId: string;
  /** The public client_id, for the audit event. */
  clientId: string;
  scopes: string[];
  now: Date;
  ip: string | null;
  userAgent: string | null;
}

/**
 * Records the user's "Allow" (OIDC contract, hand-off 3): one statement, one round trip. The
 * stored scopes become the union of those granted before and now, so consenting to a narrower
 * request never takes back a wider earlier grant; `oauth.consent.granted` commits with it.
 * Only the client's own row in the user's tenant can be named: the join checks both.
 */
export async function upsertConsent(db: Database, grant: ConsentGrant): Promise<boolean> {
  const at = grant.now.toISOString();
  const scopes = grant.scopes.join(' ');
  const result = await db.execute(sql`
    with c as (
      select oc.id from oauth_clients oc join users u on u.tenant_id = oc.tenant_id
      where oc.id = ${grant.clientInternalId}::uuid and oc.tenant_id = ${grant.tenantId}::uuid
        and u.id = ${grant.userId}::uuid
    ),
    up as (
      insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
      select ${grant.tenantId}::uuid, ${grant.userId}::uuid, c.id,
        array(select distinct s from unnest(string_to_array(${scopes}::text, ' ')) s order by s),
        ${at}::timestamptz, ${at}::timestamptz
      from c
      on conflict (user_id, client_id) do update set
        scopes = array(select distinct s from unnest(oauth_consents.scopes || excluded.scopes) s order by s),
        updated_at = excluded.updated_at
      returning scopes
    ),
    audit as (
      ${auditInsert(
        {
          tenantId: grant.tenantId,
          type: 'oauth.consent.granted',
          actor: { type: 'user', id: grant.userId },
          target: { type: 'oauth_client', id: grant.clientId },
          ip: grant.ip,
          userAgent: grant.userAgent,
          details: { scopes: grant.scopes },
          at: grant.now,
        },
        { when: sql`exists (select 1 from up)` },
      )}
    )
    select count(*)::int as n from up`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}
