import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsertEach } from '../audit/events.ts';
import { timestamp } from '../sessions/repo.ts';

export interface Profile {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  locale: string | null;
  zoneinfo: string | null;
  /** The avatar's content hash (src/features/avatars), or null. */
  avatarKey: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProfileChange {
  name?: string | null;
  locale?: string | null;
  zoneinfo?: string | null;
}

const text = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

function readProfile(row: Record<string, unknown> | undefined): Profile | null {
  if (row === undefined || row.id === null || row.id === undefined) return null;
  return {
    id: String(row.id),
    email: String(row.email),
    emailVerified: row.email_verified === true || row.email_verified === 't',
    name: text(row.name),
    locale: text(row.locale),
    zoneinfo: text(row.zoneinfo),
    avatarKey: text(row.avatar_key),
    createdAt: timestamp(row.created_at),
    updatedAt: timestamp(row.updated_at),
  };
}

const COLUMNS = sql.raw(
  'id, email, email_verified, name, locale, zoneinfo, avatar_key, created_at, updated_at',
);

export async function readProfileRow(
  db: Database,
  tenantId: string,
  userId: string,
): Promise<Profile | null> {
  const result = await db.execute(
    sql`select ${COLUMNS} from users where tenant_id = ${tenantId}::uuid and id = ${userId}::uuid`,
  );
  return readProfile(result.rows[0]);
}

/** One statement: the change and its `security.profile.updated` event (fields named, not values). */
export async function updateProfileRow(
  db: Database,
  input: {
    tenantId: string;
    userId: string;
    change: ProfileChange;
    client: { ip: string | null; userAgent: string | null };
    at: Date;
  },
): Promise<Profile | null> {
  const { change } = input;
  const set = (field: keyof ProfileChange) =>
    sql`case when ${change[field] !== undefined}::boolean then ${change[field] ?? null}::text else ${sql.raw(field)} end`;
  const fields = (['name', 'locale', 'zoneinfo'] as const).filter((f) => change[f] !== undefined);
  const result = await db.execute(sql`
    with u as (
      update users set name = ${set('name')}, locale = ${set('locale')}, zoneinfo = ${set('zoneinfo')},
        updated_at = ${input.at.toISOString()}::timestamptz
      where tenant_id = ${input.tenantId}::uuid and id = ${input.userId}::uuid
      returning ${COLUMNS}
    ),
    audit as (
      ${auditInsertEach(
        {
          tenantId: input.tenantId,
          type: 'security.profile.updated',
          actor: { type: 'user', id: input.userId },
          target: { type: 'user', id: null },
          ip: input.client.ip,
          userAgent: input.client.userAgent,
          details: { fields },
          at: input.at,
        },
        sql`u`,
        { targetId: sql`u.id` },
      )}
    )
    select * from u`);
  return readProfile(result.rows[0]);
}
