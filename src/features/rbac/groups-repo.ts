import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import { changedFields, type Found } from './roles-repo.ts';
import {
  FOREIGN_KEY_VIOLATION,
  UNIQUE_VIOLATION,
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

export interface Group {
  id: string;
  name: string;
  description: string | null;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
}

export function readGroup(row: Record<string, unknown>): Group {
  return {
    id: String(row.id),
    name: String(row.name),
    description: optionalText(row.description),
    parentId: optionalText(row.parent_id),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

export const GROUP_COLUMNS = sql.raw(
  'g.id, g.name, g.description, g.parent_id, g.created_at, g.updated_at',
);

export async function listGroups(
  db: Database,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Group> | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (
      select ${GROUP_COLUMNS} from tenant_groups g
      where g.tenant_id = (select id from t) order by g.created_at, g.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id,
      (select count(*) from tenant_groups g where g.tenant_id = (select id from t))::int as total,
      (select json_agg(page order by page.created_at, page.id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return null;
  return { items: jsonRows(row.items).map(readGroup), total: Number(row.total) };
}

export async function findGroup(
  db: Database,
  target: TenantTarget,
  groupId: string,
): Promise<Found<Group>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, ${GROUP_COLUMNS}
    from (select 1) one
    left join tenant_groups g on g.tenant_id = (select id from t) and g.id = ${groupId}::uuid`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: row.id === null || row.id === undefined ? null : readGroup(row) };
}

export interface NewGroup {
  id: string;
  name: string;
  description: string | null;
  parentId: string | null;
  now: Date;
}

export type GroupWrite = Found<Group> | 'conflict' | 'no_parent' | 'cycle';

/** A new group has no children, so its parent cannot close a cycle: only existence is checked. */
export async function insertGroup(
  db: Database,
  target: TenantTarget,
  group: NewGroup,
): Promise<GroupWrite> {
  const at = group.now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    p as (select id from tenant_groups where tenant_id = (select id from t) and id = ${group.parentId}::uuid),
    inserted as (
      insert into tenant_groups as g (id, tenant_id, name, description, parent_id, created_at, updated_at)
      select ${group.id}::uuid, t.id, ${group.name}, ${group.description}, (select id from p), ${at}::timestamptz, ${at}::timestamptz
      from t where ${group.parentId}::uuid is null or exists (select 1 from p)
      on conflict (tenant_id, name) do nothing
      returning ${GROUP_COLUMNS}
    ),
    ${auditCTE(target, { type: 'admin.group.created', target: 'group', at: group.now, details: { name: group.name, parent_id: group.parentId } }, 'inserted', 'id')}
    select (select id from t) as tenant_id, exists (select 1 from p) as parent_found, i.*
    from (select 1) one left join inserted i on true`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (group.parentId !== null && !isTrue(row.parent_found)) return 'no_parent';
  if (row.id === null || row.id === undefined) return 'conflict';
  return { tenant: true, value: readGroup(row) };
}

/** The advisory lock (hashed) that serialises group moves within one tenant. */
export function groupMoveLockKey(slug: string): string {
  return `gatehouse:groups:${slug}`;
}

export interface GroupChanges {
  name?: string;
  description?: string | null;
  /** Absent: unchanged; null: make it a root group. */
  parentId?: string | null;
  now: Date;
}

/**
 * Renames or moves a group. A move is refused when the new parent is the group or one of its
 * descendants. Moves within a tenant are serialised by an advisory lock taken in the same
 * transaction (one round trip, `db.batch`), so two concurrent moves cannot each pass the check
 * against the other's old state and close a cycle together.
 */
export async function updateGroup(
  db: Database,
  target: TenantTarget,
  groupId: string,
  changes: GroupChanges,
): Promise<GroupWrite> {
  const moving = changes.parentId !== undefined;
  const parentId = changes.parentId ?? null;
  const statement = sql`
    with recursive ${tenantCTE(target)},
    g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid),
    p as (select id from tenant_groups where tenant_id = (select id from t) and id = ${parentId}::uuid),
    ancestors(id) as (
      select id from p
      union
      select a.parent_id from tenant_groups a join ancestors on a.id = ancestors.id where a.parent_id is not null
    ),
    checks as (
      select ${moving} and ${parentId}::uuid is not null and not exists (select 1 from p) as no_parent,
        ${moving} and exists (select 1 from ancestors where id = ${groupId}::uuid) as cycle
    ),
    updated as (
      update tenant_groups g set name = coalesce(${changes.name ?? null}::text, g.name),
        description = case when ${changes.description !== undefined} then ${changes.description ?? null}::text else g.description end,
        parent_id = case when ${moving} then (select id from p) else g.parent_id end,
        updated_at = ${changes.now.toISOString()}::timestamptz
      from checks
      where g.id = (select id from g0) and not checks.no_parent and not checks.cycle
      returning ${GROUP_COLUMNS}
    ),
    ${auditCTE(target, { type: 'admin.group.updated', target: 'group', at: changes.now, details: { fields: changedFields(changes), ...(moving ? { parent_id: parentId } : {}) } }, 'updated', 'id')}
    select (select id from t) as tenant_id, exists (select 1 from g0) as group_found, checks.no_parent, checks.cycle, u.*
    from checks left join updated u on true`;
  let row: Record<string, unknown> | undefined;
  try {
    if (moving) {
      const lock = sql`select pg_advisory_xact_lock(hashtextextended(${groupMoveLockKey(target.slug)}, 0))`;
      const [, result] = await db.batch([db.execute(lock), db.execute(statement)]);
      row = result.rows[0];
    } else {
      row = (await db.execute(statement)).rows[0];
    }
  } catch (error) {
    if (pgErrorCode(error) === UNIQUE_VIOLATION) return 'conflict';
    throw error;
  }
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.group_found)) return { tenant: true, value: null };
  if (isTrue(row.no_parent)) return 'no_parent';
  if (isTrue(row.cycle)) return 'cycle';
  return { tenant: true, value: readGroup(row) };
}

/** Refused (`has_children`) while child groups point at it; members and grants go with it. */
export async function deleteGroup(
  db: Database,
  target: TenantTarget,
  groupId: string,
  now: Date,
): Promise<Found<true> | 'has_children'> {
  try {
    const result = await db.execute(sql`
      with ${tenantCTE(target)},
      g0 as (select id from tenant_groups where tenant_id = (select id from t) and id = ${groupId}::uuid),
      children as (select exists (select 1 from tenant_groups c where c.parent_id = (select id from g0)) as yes),
      deleted as (
        delete from tenant_groups g using children
        where g.id = (select id from g0) and not children.yes returning g.id
      ),
      ${auditCTE(target, { type: 'admin.group.deleted', target: 'group', at: now }, 'deleted', 'id')}
      select (select id from t) as tenant_id, exists (select 1 from g0) as group_found,
        (select yes from children) as has_children, (select count(*) from deleted)::int as deleted`);
    const row = result.rows[0];
    if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
    if (!isTrue(row.group_found)) return { tenant: true, value: null };
    return isTrue(row.has_children) ? 'has_children' : { tenant: true, value: true };
  } catch (error) {
    // A child added concurrently: the foreign key refuses the delete.
    if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION) return 'has_children';
    throw error;
  }
}
