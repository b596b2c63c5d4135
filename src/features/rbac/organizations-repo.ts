import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Found } from './roles-repo.ts';
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

// The admin side of organizations and memberships; the tables belong to accounts (register
// creates an organization with its owner), these statements only administer them.

export interface Organization {
  id: string;
  name: string;
  memberCount: number;
  createdAt: string;
}

function readOrganization(row: Record<string, unknown>): Organization {
  return {
    id: String(row.id),
    name: String(row.name),
    memberCount: Number(row.member_count ?? 0),
    createdAt: isoTime(row.created_at),
  };
}

const ORG_COLUMNS = sql.raw(
  'o.id, o.name, o.created_at, (select count(*) from memberships m where m.organization_id = o.id)::int as member_count',
);

export async function listOrganizations(
  db: Database,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Organization> | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (
      select ${ORG_COLUMNS} from organizations o where o.tenant_id = (select id from t)
      order by o.created_at, o.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id,
      (select count(*) from organizations o where o.tenant_id = (select id from t))::int as total,
      (select json_agg(page order by page.created_at, page.id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return null;
  return { items: jsonRows(row.items).map(readOrganization), total: Number(row.total) };
}

export async function findOrganization(
  db: Database,
  target: TenantTarget,
  organizationId: string,
): Promise<Found<Organization>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, ${ORG_COLUMNS}
    from (select 1) one left join organizations o on o.tenant_id = (select id from t) and o.id = ${organizationId}::uuid`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return {
    tenant: true,
    value: row.id === null || row.id === undefined ? null : readOrganization(row),
  };
}

export async function insertOrganization(
  db: Database,
  target: TenantTarget,
  organization: { id: string; name: string; now: Date },
): Promise<Found<Organization>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    inserted as (
      insert into organizations (id, tenant_id, name, created_at)
      select ${organization.id}::uuid, t.id, ${organization.name}, ${organization.now.toISOString()}::timestamptz from t
      returning id, name, created_at
    ),
    ${auditCTE(target, { type: 'admin.organization.created', target: 'organization', at: organization.now, details: { name: organization.name } }, 'inserted', 'id')}
    select (select id from t) as tenant_id, i.*, 0 as member_count from (select 1) one left join inserted i on true`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: readOrganization(row) };
}

export async function renameOrganization(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  name: string,
  now: Date,
): Promise<Found<Organization>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    updated as (
      update organizations o set name = ${name}
      where o.tenant_id = (select id from t) and o.id = ${organizationId}::uuid
      returning ${ORG_COLUMNS}
    ),
    ${auditCTE(target, { type: 'admin.organization.updated', target: 'organization', at: now, details: { fields: ['name'] } }, 'updated', 'id')}
    select (select id from t) as tenant_id, u.* from (select 1) one left join updated u on true`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return {
    tenant: true,
    value: row.id === null || row.id === undefined ? null : readOrganization(row),
  };
}

/** Memberships go with it; sessions that had it active continue with none (set null). */
export async function deleteOrganization(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  now: Date,
): Promise<Found<true>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    deleted as (
      delete from organizations o where o.tenant_id = (select id from t) and o.id = ${organizationId}::uuid returning o.id
    ),
    ${auditCTE(target, { type: 'admin.organization.deleted', target: 'organization', at: now }, 'deleted', 'id')}
    select (select id from t) as tenant_id, (select count(*) from deleted)::int as deleted`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  return { tenant: true, value: Number(row.deleted) > 0 ? true : null };
}

export interface OrganizationMember {
  userId: string;
  email: string;
  name: string | null;
  role: string;
  joinedAt: string;
}

function readMember(row: Record<string, unknown>): OrganizationMember {
  return {
    userId: String(row.user_id),
    email: String(row.email),
    name: optionalText(row.name),
    role: String(row.role),
    joinedAt: isoTime(row.joined_at),
  };
}

export async function listOrganizationMembers(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  page: Page,
): Promise<Found<Listing<OrganizationMember>>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    o as (select id from organizations where tenant_id = (select id from t) and id = ${organizationId}::uuid),
    page as (
      select u.id as user_id, u.email, u.name, m.role, m.created_at as joined_at
      from memberships m join users u on u.id = m.user_id
      where m.organization_id = (select id from o) order by m.created_at, u.id limit ${page.limit} offset ${page.offset}
    )
    select (select id from t) as tenant_id, exists (select 1 from o) as organization_found,
      (select count(*) from memberships m where m.organization_id = (select id from o))::int as total,
      (select json_agg(page order by page.joined_at, page.user_id) from page) as items`);
  const row = result.rows[0];
  if (row?.tenant_id === null || row?.tenant_id === undefined) return { tenant: false };
  if (!isTrue(row.organization_found)) return { tenant: true, value: null };
  return {
    tenant: true,
    value: { items: jsonRows(row.items).map(readMember), total: Number(row.total) },
  };
}

export interface MembershipWrite {
  tenant: boolean;
  organizationFound: boolean;
  userFound: boolean;
  /** The membership after the write; null when nothing matched (or, on add, it already existed). */
  member: OrganizationMember | null;
}

function readMembershipWrite(row: Record<string, unknown> | undefined): MembershipWrite {
  return {
    tenant: row?.tenant_id !== null && row?.tenant_id !== undefined,
    organizationFound: isTrue(row?.organization_found),
    userFound: isTrue(row?.user_found),
    member: row?.user_id === null || row?.user_id === undefined ? null : readMember(row),
  };
}

const MEMBERSHIP_TARGETS = (target: TenantTarget, organizationId: string, userId: string) => sql`
  with ${tenantCTE(target)},
  o as (select id from organizations where tenant_id = (select id from t) and id = ${organizationId}::uuid),
  u as (select id, email, name from users where tenant_id = (select id from t) and id = ${userId}::uuid)`;

const MEMBERSHIP_RESULT = sql`select (select id from t) as tenant_id, exists (select 1 from o) as organization_found,
  exists (select 1 from u) as user_found, w.user_id, w.role, w.joined_at, u.email, u.name
  from (select 1) one left join w on true left join u on true`;

/** Adds a member with a role; `member` null with both found means they already were one. */
export async function addOrganizationMember(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  member: { userId: string; role: string; now: Date },
): Promise<MembershipWrite> {
  const result = await db.execute(sql`
    ${MEMBERSHIP_TARGETS(target, organizationId, member.userId)},
    w as (
      insert into memberships (tenant_id, organization_id, user_id, role, created_at)
      select t.id, o.id, u.id, ${member.role}, ${member.now.toISOString()}::timestamptz from t, o, u
      on conflict do nothing
      returning user_id, role, created_at as joined_at
    ),
    ${auditCTE(target, { type: 'admin.membership.added', target: 'user', at: member.now, details: { organization_id: organizationId, role: member.role } }, 'w', 'user_id')}
    ${MEMBERSHIP_RESULT}`);
  return readMembershipWrite(result.rows[0]);
}

export async function changeMemberRole(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  userId: string,
  role: string,
  now: Date,
): Promise<MembershipWrite> {
  const result = await db.execute(sql`
    ${MEMBERSHIP_TARGETS(target, organizationId, userId)},
    w as (
      update memberships m set role = ${role} from o, u
      where m.organization_id = o.id and m.user_id = u.id
      returning m.user_id, m.role, m.created_at as joined_at
    ),
    ${auditCTE(target, { type: 'admin.membership.updated', target: 'user', at: now, details: { organization_id: organizationId, role } }, 'w', 'user_id')}
    ${MEMBERSHIP_RESULT}`);
  return readMembershipWrite(result.rows[0]);
}

export async function removeOrganizationMember(
  db: Database,
  target: TenantTarget,
  organizationId: string,
  userId: string,
  now: Date,
): Promise<MembershipWrite> {
  const result = await db.execute(sql`
    ${MEMBERSHIP_TARGETS(target, organizationId, userId)},
    w as (
      delete from memberships m using o, u
      where m.organization_id = o.id and m.user_id = u.id
      returning m.user_id, m.role, m.created_at as joined_at
    ),
    ${auditCTE(target, { type: 'admin.membership.removed', target: 'user', at: now, details: { organization_id: organizationId } }, 'w', 'user_id')}
    ${MEMBERSHIP_RESULT}`);
  return readMembershipWrite(result.rows[0]);
}
