import { sql, type SQL } from 'drizzle-orm';
import { SESSION_INSERT_COLUMNS, sessionInsertValues, type NewSession } from '../sessions/repo.ts';

/**
 * A session insert for a data-modifying CTE, made only when `gate` holds, in the organization
 * the user joined first (as a password login does). Returns `id, active_organization_id`.
 */
export function sessionInsertWhen(session: NewSession, gate: SQL): SQL {
  const first = sql`(select organization_id from memberships
    where user_id = ${session.userId}::uuid and tenant_id = ${session.tenantId}::uuid
    order by created_at, organization_id limit 1)`;
  return sql`insert into ${SESSION_INSERT_COLUMNS}
    ${sessionInsertValues(session, sql`${session.userId}::uuid`, first)} where ${gate}
    returning id, active_organization_id`;
}

/** The role in the new session's organization, for a statement with a CTE `s` from sessionInsertWhen. */
export function sessionRoleSQL(userId: string): SQL {
  return sql`(select m.role from memberships m join s on m.organization_id = s.active_organization_id
    where m.user_id = ${userId}::uuid)`;
}

/**
 * The user's role names as a JSON array: RBAC roles held directly or through any group and its
 * ancestors, and organization membership roles. A scalar subquery: no round trip of its own.
 */
export function roleNamesSQL(userId: SQL): SQL {
  return sql`(with recursive g(id) as (
      select gm.group_id from group_members gm where gm.user_id = ${userId}
      union
      select p.parent_id from tenant_groups p join g on p.id = g.id where p.parent_id is not null
    )
    select coalesce(json_agg(x.name), '[]'::json) from (
      select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ${userId}
      union
      select r.name from g join group_roles gr on gr.group_id = g.id join roles r on r.id = gr.role_id
      union
      select m.role from memberships m where m.user_id = ${userId}
    ) x)`;
}

export function jsonStrings(value: unknown): string[] {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

export function isTrue(value: unknown): boolean {
  return value === true || value === 't' || value === 'true';
}

export function optionalDate(value: unknown): Date | null {
  return value === null || value === undefined
    ? null
    : value instanceof Date
      ? value
      : new Date(String(value));
}
