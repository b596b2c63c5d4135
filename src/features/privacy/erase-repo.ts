import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach, type AuditEvent } from '../audit/events.ts';
import { PERSONAL_DETAIL_KEYS } from '../audit/chain.ts';

export interface Erasure {
  /** The tenant expression matched a tenant (always true when called with a known tenant id). */
  tenantFound: boolean;
  /** The user existed and is gone. */
  erased: boolean;
  /** How many of the user's audit events had their personal fields removed. */
  scrubbedEvents: number;
  /** The erased user's avatar, and whether another user still shows the same image. */
  avatarKey: string | null;
  avatarStillUsed: boolean;
}

/**
 * Erases a user in one statement (one round trip): the users row goes, and with it (ON DELETE
 * CASCADE) credentials, sessions, refresh tokens, passkeys, MFA, email tokens and codes,
 * memberships, roles, groups and attributes (the caller deletes the avatar object from R2). The personal fields of the user's audit events (IP,
 * user agent, user actor and target ids, details.email/user_id) are nulled with their salt: on
 * links sealed under v2 and on unsealed events the chain still verifies (docs/audit-chain.md).
 * Links sealed under v1 cover those fields with the MAC itself; they are left as they are and
 * leave the log with retention (see the same document). The erasure is recorded with no personal
 * data: no user id, no IP, no user agent.
 */
export async function eraseUser(
  db: Database,
  options: {
    tenant: SQL;
    userId: string;
    event: Pick<AuditEvent, 'type' | 'actor' | 'at'>;
  },
): Promise<Erasure> {
  const { userId } = options;
  const dropKeys = sql.raw(PERSONAL_DETAIL_KEYS.map((key) => ` - '${key}'`).join(''));
  const result = await db.execute(sql`
    with t as (select ${options.tenant} as id),
    usr as (select id, tenant_id, email_normalized, avatar_key from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    scrubbed as (
      update audit_events e set ip = null, user_agent = null, personal_salt = null,
        actor_id = case when e.actor_type = 'user' then null else e.actor_id end,
        target_id = case when e.target_type = 'user' then null else e.target_id end,
        details = e.details${dropKeys}
      where e.tenant_id = (select tenant_id from usr)
        and (e.seq is null or e.link_version = 2)
        and (e.actor_id = ${userId} or e.target_id = ${userId} or e.details->>'user_id' = ${userId}
          or lower(e.details->>'email') = (select email_normalized from usr))
      returning e.id
    ),
    deleted as (delete from users where id in (select id from usr) returning id, tenant_id),
    audit as (
      ${auditInsertEach(
        {
          type: options.event.type,
          actor: options.event.actor,
          target: { type: 'user', id: null },
          ip: null,
          userAgent: null,
          details: {},
          at: options.event.at,
        },
        sql`deleted`,
        { targetId: sql`null`, tenantId: sql`deleted.tenant_id` },
      )}
    )
    select (select id from t) is not null as tenant_found,
      (select count(*)::int from deleted) as erased,
      (select count(*)::int from scrubbed) as scrubbed,
      (select avatar_key from usr) as avatar_key,
      exists (select 1 from users o where o.avatar_key = (select avatar_key from usr)
        and o.id <> ${userId}::uuid) as avatar_still_used`);
  const row = result.rows[0] ?? {};
  return {
    tenantFound: row.tenant_found === true || row.tenant_found === 't',
    erased: Number(row.erased ?? 0) > 0,
    scrubbedEvents: Number(row.scrubbed ?? 0),
    avatarKey:
      row.avatar_key === null || row.avatar_key === undefined ? null : String(row.avatar_key),
    avatarStillUsed: row.avatar_still_used === true || row.avatar_still_used === 't',
  };
}
