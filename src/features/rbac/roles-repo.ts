import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import { ACCESS_CLAIM_COLUMNS_SQL, readAccessClaims, type AccessClaims } from './claims.ts';
import {
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

export interface Role {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export function readRole(row: Record<string, unknown>): Role {
  return {
    id: String(row.id),
    name: String(row.name),
    description: optionalText(row.description),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

/** Null when the tenant is not there (or not the credential's). */
export async function listRoles(
  db: Database,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Role> | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (
      select r.id, r.name, r.description, r.created_at, r.updated_at from roles r
      where r.tenant_id = (select id from t) order by r.created_at, r.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id,
      (select count(*) from roles r where r.tenant_id = (select id from t))::int as total,
      (select json_agg(page order by page.created_at, page.id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return null;
  return { items: jsonRows(row.items).map(readRole), total: Number(row.total) };
}

export type Found<T> = { tenant: false } | { tenant: true; value: T | null };

export async function findRole(
  db: Database,
  target: TenantTarget,
  roleId: string,
): Promise<Found<Role>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, r.id, r.name, r.description, r.created_at, r.updated_at
    from (select 1) one
    left join roles r on r.tenant_id = (select id from t) and r.id = ${roleId}::uuid`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: row.id === null || row.id === undefined ? null : readRole(row) };
}

export interface NewRole {
  id: string;
  name: string;
  description: string | null;
  now: Date;
}

/** `conflict` when the tenant has a role of that name. */
export async function insertRole(
  db: Database,
  target: TenantTarget,
  role: NewRole,
): Promise<Found<Role> | 'conflict'> {
  const at = role.now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    inserted as (
      insert into roles (id, tenant_id, name, description, created_at, updated_at)
      select ${role.id}::uuid, t.id, ${role.name}, ${role.description}, ${at}::timestamptz, ${at}::timestamptz from t
      on conflict (tenant_id, name) do nothing
      returning id, name, description, created_at, updated_at
    ),
    ${auditCTE(target, { type: 'admin.role.created', target: 'role', at: role.now, details: { name: role.name } }, 'inserted', 'id')}
    select (select id from t) as tenant_id, i.* from (select 1) one left join inserted i on true`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (row.id === null || row.id === undefined) return 'conflict';
  return { tenant: true, value: readRole(row) };
}

export interface RoleChanges {
  name?: string;
  description?: string | null;
  now: Date;
}

export async function updateRole(
  db: Database,
  target: TenantTarget,
  roleId: string,
  changes: RoleChanges,
): Promise<Found<Role> | 'conflict'> {
  try {
    const result = await db.execute(sql`
      with ${tenantCTE(target)},
      updated as (
        update roles r set name = coalesce(${changes.name ?? null}::text, r.name),
          description = case when ${changes.description !== undefined} then ${changes.description ?? null}::text else r.description end,
          updated_at = ${changes.now.toISOString()}::timestamptz
        where r.tenant_id = (select id from t) and r.id = ${roleId}::uuid
        returning r.id, r.name, r.description, r.created_at, r.updated_at
      ),
      ${auditCTE(target, { type: 'admin.role.updated', target: 'role', at: changes.now, details: { fields: changedFields(changes) } }, 'updated', 'id')}
      select (select id from t) as tenant_id, u.* from (select 1) one left join updated u on true`);
    const row = result.rows[0];
    if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
    return { tenant: true, value: row.id === null || row.id === undefined ? null : readRole(row) };
  } catch (error) {
    if (pgErrorCode(error) === UNIQUE_VIOLATION) return 'conflict';
    throw error;
  }
}

/** Deletes the role and, by cascade, every assignment of it to users and groups. */
export async function deleteRole(
  db: Database,
  target: TenantTarget,
  roleId: string,
  now: Date,
): Promise<Found<true>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    deleted as (delete from roles r where r.tenant_id = (select id from t) and r.id = ${roleId}::uuid returning r.id),
    ${auditCTE(target, { type: 'admin.role.deleted', target: 'role', at: now }, 'deleted', 'id')}
    select (select id from t) as tenant_id, (select count(*) from deleted)::int as deleted`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: Number(row.deleted) > 0 ? true : null };
}

/** Which fields a patch names (recorded in the audit event; never the values). */
export function changedFields(changes: object): string[] {
  return Object.entries(changes)
    .filter(([name, value]) => name !== 'now' && value !== undefined)
    .map(([name]) => name);
}

export interface LinkResult {
  tenant: boolean;
  /** Whether each end exists in the tenant. */
  found: { left: boolean; right: boolean };
  /** A row was inserted or deleted (false: it already was / was not there). */
  changed: boolean;
}

export function readLink(row: Record<string, unknown> | undefined): LinkResult {
  return {
    tenant: row?.tenant_id !== null && row?.tenant_id !== undefined,
    found: { left: isTrue(row?.left_found), right: isTrue(row?.right_found) },
    changed: Number(row?.changed ?? 0) > 0,
  };
}

/** Assigns a role to a user, both of the tenant; idempotent. */
export async function assignUserRole(
  db: Database,
  target: TenantTarget,
  userId: string,
  roleId: string,
  now: Date,
): Promise<LinkResult> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    r as (select id from roles where tenant_id = (select id from t) and id = ${roleId}::uuid),
    inserted as (
      insert into user_roles (tenant_id, user_id, role_id, created_at)
      select t.id, u.id, r.id, ${now.toISOString()}::timestamptz from t, u, r
      on conflict do nothing
      returning user_id
    ),
    ${auditCTE(target, { type: 'admin.user_role.assigned', target: 'user', at: now, details: { role_id: roleId } }, 'inserted', 'user_id')}
    select (select id from t) as tenant_id, exists (select 1 from u) as left_found,
      exists (select 1 from r) as right_found, (select count(*) from inserted)::int as changed`);
  return readLink(result.rows[0]);
}

export async function removeUserRole(
  db: Database,
  target: TenantTarget,
  userId: string,
  roleId: string,
  now: Date,
): Promise<LinkResult> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    u as (select id from users where tenant_id = (select id from t) and id = ${userId}::uuid),
    r as (select id from roles where tenant_id = (select id from t) and id = ${roleId}::uuid),
    deleted as (
      delete from user_roles ur using u, r where ur.user_id = u.id and ur.role_id = r.id returning ur.user_id
    ),
    ${auditCTE(target, { type: 'admin.user_role.removed', target: 'user', at: now, details: { role_id: roleId } }, 'deleted', 'user_id')}
    select (select id from t) as tenant_id, exists (select 1 from u) as left_found,
      exists (select 1 from r) as right_found, (select count(*) from deleted)::int as changed`);
  return readLink(result.rows[0]);
}

export interface UserRoles {
  direct: Role[];
  /** What the user's next access token carries: roles and mapped claims. */
  effective: AccessClaims;
}

export async function listUserRoles(
  db: Database,
  target: TenantTarget,
  userId: string,
): Promise<Found<UserRoles>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, u.id as user_id,
      (select json_agg(r order by r.name, r.id) from (
        select r.id, r.name, r.description, r.created_at, r.updated_at
        from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id
      ) r) as direct,
      ${sql.raw(ACCESS_CLAIM_COLUMNS_SQL)}
    from (select 1) one
    left join users u on u.tenant_id = (select id from t) and u.id = ${userId}::uuid`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (row.user_id === null || row.user_id === undefined) return { tenant: true, value: null };
  return {
    tenant: true,
    value: { direct: jsonRows(row.direct).map(readRole), effective: readAccessClaims(row) },
  };
}
