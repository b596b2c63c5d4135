import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { parseJSON } from '../tenants/repo.ts';

/** Everything held about one user, as stored (snake_case keys, ISO timestamps). */
export interface UserExport {
  profile: Record<string, unknown>;
  identities: Record<string, unknown>[];
  sessions: Record<string, unknown>[];
  passkeys: Record<string, unknown>[];
  mfa: Record<string, unknown>;
  organizations: Record<string, unknown>[];
  roles: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  attributes: Record<string, unknown>[];
  audit_events: Record<string, unknown>[];
}

const list = (select: SQL): SQL =>
  sql`coalesce((select json_agg(x) from (${select}) x), '[]'::json)`;

/**
 * The whole export in one statement (one round trip): JSON built by Postgres, one sub-select per
 * kind of data. Secrets never appear: no password hash, TOTP secret, recovery code or token hash.
 * The user is looked up in `tenant` (a SQL expression for the tenant's id); null: no such user.
 */
export async function readUserExport(
  db: Database,
  tenant: SQL,
  userId: string,
): Promise<UserExport | null> {
  const u = sql`${userId}::uuid`;
  const result = await db.execute(sql`
    with usr as (select * from users where tenant_id = ${tenant} and id = ${u})
    select json_build_object(
      'profile', (select json_build_object('id', id, 'email', email, 'email_verified', email_verified,
        'name', name, 'locale', locale, 'zoneinfo', zoneinfo, 'avatar_key', avatar_key, 'has_password', password_hash is not null,
        'disabled_at', disabled_at, 'created_at', created_at, 'updated_at', updated_at) from usr),
      'identities', ${list(sql`select 'email' as provider, email as subject, email_verified as verified,
        password_hash is not null as has_password, created_at from usr`)},
      'sessions', ${list(sql`select id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, amr,
        active_organization_id from sessions where user_id = ${u} order by created_at`)},
      'passkeys', ${list(sql`select id, name, aaguid, device_type, backed_up, transports, created_at, last_used_at
        from passkeys where user_id = ${u} order by created_at`)},
      'mfa', json_build_object(
        'totp', (select json_build_object('confirmed_at', confirmed_at, 'created_at', created_at)
          from mfa_totp where user_id = ${u}),
        'recovery_codes', json_build_object(
          'total', (select count(*) from mfa_recovery_codes where user_id = ${u}),
          'unused', (select count(*) from mfa_recovery_codes where user_id = ${u} and used_at is null))),
      'organizations', ${list(sql`select o.id, o.name, m.role, m.created_at as joined_at from memberships m
        join organizations o on o.id = m.organization_id where m.user_id = ${u} order by m.created_at`)},
      'roles', ${list(sql`select r.id, r.name from user_roles ur join roles r on r.id = ur.role_id
        where ur.user_id = ${u} order by r.name`)},
      'groups', ${list(sql`select g.id, g.name from group_members gm join tenant_groups g on g.id = gm.group_id
        where gm.user_id = ${u} order by g.name`)},
      'attributes', ${list(sql`select key, value from user_attributes where user_id = ${u} order by key`)},
      'audit_events', ${list(sql`select id, type, actor_type, actor_id, target_type, target_id, ip, user_agent,
        request_id, created_at, details from audit_events
        where tenant_id = (select tenant_id from usr)
          and (actor_id = ${userId} or target_id = ${userId} or details->>'user_id' = ${userId})
        order by created_at, id`)}
    ) as export, exists (select 1 from usr) as found`);
  const row = result.rows[0];
  if (row === undefined || (row.found !== true && row.found !== 't')) return null;
  return parseJSON(row.export) as unknown as UserExport;
}
