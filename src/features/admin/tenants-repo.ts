import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, auditInsertEach, type AuditEvent } from '../audit/events.ts';
import { timestamp } from '../sessions/repo.ts';
import type { Tenant } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, readTenant } from '../tenants/repo.ts';
import { adminEvent, type AdminActor } from './audit.ts';

export interface AdminTenant extends Tenant {
  hostnames: string[];
  /** Whether a sealed SMTP password is stored (the value itself never leaves the database). */
  smtpPasswordSet: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function textArray(values: string[]): SQL {
  return sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;
}

const ADMIN_TENANT_COLUMNS = sql`${TENANT_COLUMNS}, t.created_at as t_created_at, t.updated_at as t_updated_at,
  (t.smtp_password_sealed is not null) as t_smtp_password_set,
  array(select h.hostname from tenant_hostnames h where h.tenant_id = t.id order by h.hostname) as t_hostnames`;

function readAdminTenant(row: Record<string, unknown>): AdminTenant | null {
  const tenant = readTenant(row);
  if (tenant === null) return null;
  return {
    ...tenant,
    hostnames: parseTextArray(row.t_hostnames),
    smtpPasswordSet: row.t_smtp_password_set === true || row.t_smtp_password_set === 't',
    createdAt: timestamp(row.t_created_at),
    updatedAt: timestamp(row.t_updated_at),
  };
}

/** One page in creation order with the total, in one round trip (even past the last page). */
export async function listTenants(
  db: Database,
  page: { limit: number; offset: number; onlyTenantId: string | null },
): Promise<{ tenants: AdminTenant[]; total: number }> {
  const result = await db.execute(sql`
    with matched as (
      select * from tenants t where ${page.onlyTenantId}::uuid is null or t.id = ${page.onlyTenantId}::uuid
    ),
    page as (
      select ${ADMIN_TENANT_COLUMNS} from matched t
      order by t.created_at, t.id limit ${page.limit} offset ${page.offset}
    )
    select (select count(*) from matched)::int as total, page.* from (select 1) as one left join page on true`);
  const total = Number(result.rows[0]?.total ?? 0);
  const tenants = result.rows.map(readAdminTenant).filter((t): t is AdminTenant => t !== null);
  return { tenants, total };
}

export async function getTenant(db: Database, slug: string): Promise<AdminTenant | null> {
  const result = await db.execute(
    sql`select ${ADMIN_TENANT_COLUMNS} from tenants t where t.slug = ${slug}`,
  );
  const row = result.rows[0];
  return row === undefined ? null : readAdminTenant(row);
}

export interface TenantChange {
  name: string | undefined;
  /** Top-level settings to set, nested ones to merge field by field (storage form). */
  settings: Record<string, unknown>;
  passwordPolicy: Record<string, unknown> | null;
  lockout: Record<string, unknown> | null;
  /** settings.mail: fields merged in, fields removed. */
  mail?: { set: Record<string, unknown>; unset: string[] } | null;
  /** The sealed SMTP password to store; null removes it; undefined leaves it. */
  smtpPasswordSealed?: string | null;
  corsOrigins: string[] | undefined;
  hostnames: string[] | undefined;
}

function mergeNested(name: string, patch: Record<string, unknown> | null): SQL {
  if (patch === null) return sql`'{}'::jsonb`;
  return sql`jsonb_build_object(${name}::text, coalesce(settings->${name}::text, '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb)`;
}

/** settings.mail merged field by field, and its `links` link by link. */
function mergeMail(patch: Record<string, unknown> | null): SQL {
  if (patch === null) return sql`'{}'::jsonb`;
  const { links, ...rest } = patch;
  const stored = sql`coalesce(settings->'mail', '{}'::jsonb)`;
  const mergedLinks =
    links === undefined
      ? sql`'{}'::jsonb`
      : sql`jsonb_build_object('links', coalesce(settings->'mail'->'links', '{}'::jsonb) || ${JSON.stringify(links)}::jsonb)`;
  return sql`jsonb_build_object('mail', ${stored} || ${JSON.stringify(rest)}::jsonb || ${mergedLinks})`;
}

export type UpdateOutcome =
  | { status: 'updated'; tenant: AdminTenant }
  | { status: 'not_found' }
  | { status: 'hostname_taken' };

/**
 * Applies a change and records admin.tenant.updated in one statement. A hostname another tenant
 * holds refuses the whole change (nothing is written).
 */
export async function updateTenant(
  db: Database,
  slug: string,
  change: TenantChange,
  by: AdminActor,
): Promise<UpdateOutcome> {
  const at = by.at.toISOString();
  const setHosts = change.hostnames !== undefined;
  const hosts = textArray(change.hostnames ?? []);
  const setCORS = change.corsOrigins !== undefined;
  const setSMTPPassword = change.smtpPasswordSealed !== undefined;
  const mailUnset = (change.mail?.unset ?? []).map((key) => sql` #- ${`{mail,${key}}`}::text[]`);
  const details = {
    fields: [
      ...(change.name !== undefined ? ['name'] : []),
      ...Object.keys(change.settings),
      ...(change.passwordPolicy !== null ? ['passwordPolicy'] : []),
      ...(change.lockout !== null ? ['lockout'] : []),
      ...(change.mail != null ? ['mail'] : []),
      ...(change.smtpPasswordSealed !== undefined ? ['smtpPassword'] : []),
      ...(setCORS ? ['corsOrigins'] : []),
      ...(setHosts ? ['hostnames'] : []),
    ],
  };
  const result = await db.execute(sql`
    with t as (select id from tenants where slug = ${slug}),
    taken as (
      select count(*)::int as n from tenant_hostnames h
      where ${setHosts}::boolean and h.hostname = any(${hosts}) and h.tenant_id <> (select id from t)
    ),
    u as (
      update tenants set
        name = coalesce(${change.name ?? null}::text, name),
        settings = (settings || ${JSON.stringify(change.settings)}::jsonb
          || ${mergeNested('passwordPolicy', change.passwordPolicy)} || ${mergeNested('lockout', change.lockout)}
          || ${mergeMail(change.mail?.set ?? null)})${sql.join(mailUnset, sql``)},
        smtp_password_sealed = case when ${setSMTPPassword}::boolean
          then ${change.smtpPasswordSealed ?? null}::text else smtp_password_sealed end,
        cors_origins = case when ${setCORS}::boolean then ${textArray(change.corsOrigins ?? [])} else cors_origins end,
        updated_at = ${at}::timestamptz
      where id = (select id from t) and (select n from taken) = 0
      returning *
    ),
    removed as (
      delete from tenant_hostnames
      where ${setHosts}::boolean and tenant_id = (select id from u) and not (hostname = any(${hosts}))
    ),
    added as (
      insert into tenant_hostnames (hostname, tenant_id, created_at)
      select h, (select id from u), ${at}::timestamptz from unnest(${hosts}) as h
      where ${setHosts}::boolean and exists (select 1 from u)
      on conflict (hostname) do nothing
    ),
    audit as (
      ${auditInsertEach(
        adminEvent(by, 'admin.tenant.updated', null, { type: 'tenant', id: null }, details),
        sql`u`,
        {
          targetId: sql`u.id`,
          tenantId: sql`u.id`,
        },
      )}
    )
    select (select n from taken) as taken, ${ADMIN_TENANT_COLUMNS}
    from (select 1) as one left join u as t on true`);
  const row = result.rows[0];
  if (Number(row?.taken ?? 0) > 0) return { status: 'hostname_taken' };
  const tenant = row === undefined ? null : readAdminTenant(row);
  if (tenant === null) return { status: 'not_found' };
  // The statement's own writes are invisible to its select: the new list is what was asked for.
  if (change.hostnames !== undefined) tenant.hostnames = [...change.hostnames].sort();
  return { status: 'updated', tenant };
}

/** Deletes the tenant (everything of it cascades) and records admin.tenant.deleted. */
export async function deleteTenant(db: Database, slug: string, by: AdminActor): Promise<boolean> {
  const result = await db.execute(sql`
    with d as (delete from tenants where slug = ${slug} returning id),
    audit as (
      ${auditInsertEach(
        adminEvent(by, 'admin.tenant.deleted', null, { type: 'tenant', id: null }, { slug }),
        sql`d`,
        {
          targetId: sql`d.id`,
        },
      )}
    )
    select id from d`);
  return result.rows.length > 0;
}

export interface SigningKeyListing {
  kid: string;
  alg: string;
  status: string;
  createdAt: Date;
  retiredAt: Date | null;
}

/** The tenant's id and its keys, newest first; null when there is no such tenant. */
export async function listSigningKeys(
  db: Database,
  slug: string,
): Promise<{ tenantId: string; keys: SigningKeyListing[] } | null> {
  const result = await db.execute(sql`
    select t.id as tenant_id, k.kid, k.alg, k.status, k.created_at, k.retired_at
    from tenants t left join signing_keys k on k.tenant_id = t.id
    where t.slug = ${slug}
    order by k.created_at desc, k.id`);
  const first = result.rows[0];
  if (first === undefined) return null;
  return {
    tenantId: String(first.tenant_id),
    keys: result.rows
      .filter((row) => row.kid !== null && row.kid !== undefined)
      .map((row) => ({
        kid: String(row.kid),
        alg: String(row.alg),
        status: String(row.status),
        createdAt: timestamp(row.created_at),
        retiredAt:
          row.retired_at === null || row.retired_at === undefined
            ? null
            : timestamp(row.retired_at),
      })),
  };
}

/**
 * Reads a tenant back by id while recording an event about it, in one round trip: used after
 * writes done by services that own their statements (createTenant, key rotation).
 */
export async function readTenantRecording(
  db: Database,
  tenantId: string,
  event: AuditEvent,
): Promise<AdminTenant | null> {
  const result = await db.execute(sql`
    with audit as (${auditInsert(event)})
    select ${ADMIN_TENANT_COLUMNS} from tenants t where t.id = ${tenantId}::uuid`);
  const row = result.rows[0];
  return row === undefined ? null : readAdminTenant(row);
}
