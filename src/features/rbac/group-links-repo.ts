import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { GROUP_COLUMNS, readGroup, type Group } from './groups-repo.ts';
import { readLink, readRole, type Found, type LinkResult, type Role } from './roles-repo.ts';
import {
  auditCTE,
  isTrue,
  isoTime,
  jsonRows,
  optionalText,
  tenantCTE,
  type Listing,
  type Page,
  type TenantTarget,
} from './sql.ts';

// Links of groups: members (users) and granted roles, and the groups of a user.

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  addedAt: string;
}

export async function listGroupMembers(
  db: Database,
  target: TenantTarget,
  groupId: string,
  page: Page,
): Promise<Found<Listing<Member>>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid),
    page as (
      select u.id as user_id, u.email, u.name, gm.created_at as added_at
      from group_members gm join users u on u.id = gm.user_id
      where gm.group_id = (select id from g0) order by gm.created_at, u.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id, exists (select 1 from g0) as group_found,
      (select count(*) from group_members gm where gm.group_id = (select id from g0))::int as total,
      (select json_agg(page order by page.added_at, page.user_id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.group_found)) return { tenant: true, value: null };
  const items = jsonRows(row.items).map((item) => ({
    userId: String(item.user_id),
    email: String(item.email),
    name: optionalText(item.name),
    addedAt: isoTime(item.added_at),
  }));
  return { tenant: true, value: { items, total: Number(row.total) } };
}

/** Adds (`add`) or removes a user from a group, both of the tenant; idempotent. */
export async function changeGroupMember(
  db: Database,
  target: TenantTarget,
  groupId: string,
  userId: string,
  change: { add: boolean; now: Date },
): Promise<LinkResult> {
  const write = change.add
    ? sql`insert into group_members (tenant_id, group_id, user_id, created_at)
        select t.id, g0.id, u.id, ${change.now.toISOString()}::timestamptz from t, g0, u
        on conflict do nothing returning user_id`
    : sql`delete from group_members gm using g0, u where gm.group_id = g0.id and gm.user_id = u.id returning gm.user_id`;
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid),
    changed as (${write}),
    ${auditCTE(target, { type: change.add ? 'admin.group_member.added' : 'admin.group_member.removed', target: 'user', at: change.now, details: { group_id: groupId } }, 'changed', 'user_id')}
    select (select id from t) as tenant_id, exists (select 1 from u) as left_found,
      exists (select 1 from g0) as right_found, (select count(*) from changed)::int as changed`);
  return readLink(result.rows[0]);
}

/** Grants (`grant`) or revokes a role for a group, both of the tenant; idempotent. */
export async function changeGroupRole(
  db: Database,
  target: TenantTarget,
  groupId: string,
  roleId: string,
  change: { grant: boolean; now: Date },
): Promise<LinkResult> {
  const write = change.grant
    ? sql`insert into group_roles (tenant_id, group_id, role_id, created_at)
        select t.id, g0.id, r.id, ${change.now.toISOString()}::timestamptz from t, g0, r
        on conflict do nothing returning group_id`
    : sql`delete from group_roles gr using g0, r where gr.group_id = g0.id and gr.role_id = r.id returning gr.group_id`;
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid),
    r as (select id from roles where tenant_id = (select id from t) and id = ${roleId}::uuid),
    changed as (${write}),
    ${auditCTE(target, { type: change.grant ? 'admin.group_role.granted' : 'admin.group_role.revoked', target: 'group', at: change.now, details: { role_id: roleId } }, 'changed', 'group_id')}
    select (select id from t) as tenant_id, exists (select 1 from g0) as left_found,
      exists (select 1 from r) as right_found, (select count(*) from changed)::int as changed`);
  return readLink(result.rows[0]);
}

export async function listGroupRoles(
  db: Database,
  target: TenantTarget,
  groupId: string,
): Promise<Found<Role[]>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid)
    select (select id from t) as tenant_id, exists (select 1 from g0) as group_found,
      (select json_agg(r order by r.name, r.id) from (
        select r.id, r.name, r.description, r.created_at, r.updated_at
        from group_roles gr join roles r on r.id = gr.role_id where gr.group_id = (select id from g0)
      ) r) as roles`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.group_found)) return { tenant: true, value: null };
  return { tenant: true, value: jsonRows(row.roles).map(readRole) };
}

/** The groups a user is directly in (not their ancestors). */
export async function listUserGroups(
  db: Database,
  target: TenantTarget,
  userId: string,
): Promise<Found<Group[]>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid)
    select (select id from t) as tenant_id, exists (select 1 from u) as user_found,
      (select json_agg(g order by g.name, g.id) from (
        select ${GROUP_COLUMNS} from group_members gm join tenant_groups g on g.id = gm.group_id
        where gm.user_id = (select id from u)
      ) g) as groups`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.user_found)) return { tenant: true, value: null };
  return { tenant: true, value: jsonRows(row.groups).map(readGroup) };
}
