import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach } from '../audit/events.ts';

/** What a change of avatar left behind: the previous key, and whether any user still uses it. */
export interface AvatarChange {
  found: boolean;
  previousKey: string | null;
  previousStillUsed: boolean;
}

/**
 * Sets (or with null clears) the user's avatar key in one statement, with its audit event. Keys are
 * content hashes, so two users may share one object: the answer says whether the old one is free.
 */
export async function setAvatarKey(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    key: string | null;
    client: { ip: string | null; userAgent: string | null };
    at: Date;
  },
): Promise<AvatarChange> {
  const result = await db.execute(sql`
    with before as (select avatar_key from users where tenant_id = ${input.tenantId}::uuid and id = ${input.userId}::uuid),
    u as (
      update users set avatar_key = ${input.key}, updated_at = ${input.at.toISOString()}::timestamptz
      where tenant_id = ${input.tenantId}::uuid and id = ${input.userId}::uuid
      returning id
    ),
    audit as (
      ${auditInsertEach(
        {
          tenantId: input.tenantId,
          type: input.key === null ? 'security.avatar.removed' : 'security.avatar.set',
          actor: { type: 'user', id: input.userId },
          target: { type: 'user', id: null },
          ip: input.client.ip,
          userAgent: input.client.userAgent,
          at: input.at,
        },
        sql`u`,
        { targetId: sql`u.id` },
      )}
    )
    select (select count(*)::int from u) as found, (select avatar_key from before) as previous,
      exists (select 1 from users where avatar_key = (select avatar_key from before)
        and id <> ${input.userId}::uuid) as still_used`);
  const row = result.rows[0] ?? {};
  const previous =
    row.previous === null || row.previous === undefined ? null : String(row.previous);
  return {
    found: Number(row.found ?? 0) > 0,
    previousKey: previous,
    // The statement's snapshot still shows this user's old key; `id <>` leaves them out.
    previousStillUsed: row.still_used === true || row.still_used === 't' || previous === input.key,
  };
}

/** Is any user's avatar this key? (An erased user's object is deleted only when none is.) */
export async function isAvatarKeyUsed(db: Database, key: string): Promise<boolean> {
  const result = await db.execute(
    sql`select exists (select 1 from users where avatar_key = ${key}) as used`,
  );
  const used = result.rows[0]?.used;
  return used === true || used === 't';
}
