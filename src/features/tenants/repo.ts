import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import type { Tenant, TenantRef, TenantScope } from './context.ts';
import { resolveSettings, tenantSettingsSchema, type TenantSettings } from './settings.ts';

/** SQL condition selecting the tenant `ref` names, for a query that aliases tenants as `t`. */
export function tenantMatch(ref: TenantRef): SQL {
  return ref.by === 'slug'
    ? sql`t.slug = ${ref.slug}`
    : sql`t.id = (select h.tenant_id from tenant_hostnames h where h.hostname = ${ref.hostname})`;
}

/** Columns a query selects (as t_*) so `readTenant` can build the tenant from its row. */
export const TENANT_COLUMNS = sql.raw(
  't.id as t_id, t.slug as t_slug, t.name as t_name, t.settings as t_settings, t.cors_origins as t_cors_origins',
);

const DEFAULTS = tenantSettingsSchema.parse({});

/** A numeric setting read in SQL, with the default from the same schema the code uses. */
export function settingSQL(name: keyof TenantSettings & `${string}Seconds`): SQL {
  return sql`coalesce((t.settings->>${name})::int, ${DEFAULTS[name]})`;
}

export function readTenant(row: Record<string, unknown>): Tenant | null {
  if (row.t_id === null || row.t_id === undefined) return null;
  return {
    id: String(row.t_id),
    slug: String(row.t_slug),
    name: String(row.t_name),
    settings: resolveSettings(parseJSON(row.t_settings)),
    corsOrigins: parseTextArray(row.t_cors_origins),
  };
}

/** Reads the tenant from a row into the request's scope; null when the row names none. */
export function scopeTenant(
  scope: TenantScope,
  row: Record<string, unknown> | undefined,
): Tenant | null {
  const tenant = row === undefined ? null : readTenant(row);
  if (tenant !== null) scope.tenant = tenant;
  return tenant;
}

export async function findTenant(db: Database, scope: TenantScope): Promise<Tenant | null> {
  const result = await db.execute(
    sql`select ${TENANT_COLUMNS} from tenants t where ${tenantMatch(scope.ref)}`,
  );
  return scopeTenant(scope, result.rows[0]);
}

export function parseJSON(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

/** text[] arrives parsed or as Postgres' literal `{a,b}` depending on the path. */
export function parseTextArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value === '{}') return [];
  return value
    .replace(/^\{|\}$/g, '')
    .split(',')
    .map((item) => item.replace(/^"|"$/g, ''));
}
