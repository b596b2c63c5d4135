// The admin API's statements on federation_providers: each resolves the tenant (and the caller's
// tenant binding) inside itself and writes its audit event in the same statement.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { textArray } from '../clients/admin/repo.ts';
import type { Found } from '../rbac/roles-repo.ts';
import { auditCTE, isTrue, jsonRows, tenantCTE, type TenantTarget } from '../rbac/sql.ts';
import { parseTextArray } from '../tenants/repo.ts';
import { timestamp } from '../sessions/repo.ts';
import type { ProviderKind } from './schema.ts';

/** Every column an admin sets (the secret travels sealed, never read back through the API). */
export interface ProviderFields {
  name: string;
  kind: ProviderKind;
  enabled: boolean;
  issuer: string | null;
  clientId: string;
  scopes: string[];
  emailClaim: string;
  trustEmailVerified: boolean;
  allowedDomains: string[];
}

export interface Provider extends ProviderFields {
  id: string;
  tenantId: string;
  clientSecretSealed: string;
  createdAt: Date;
  updatedAt: Date;
}

export const PROVIDER_COLUMNS = sql.raw(
  `fp.id as p_id, fp.tenant_id as p_tenant_id, fp.name as p_name, fp.kind as p_kind,
   fp.enabled as p_enabled, fp.issuer as p_issuer, fp.client_id as p_client_id,
   fp.client_secret_sealed as p_secret, fp.scopes as p_scopes, fp.email_claim as p_email_claim,
   fp.trust_email_verified as p_trust, fp.allowed_domains as p_domains,
   fp.created_at as p_created_at, fp.updated_at as p_updated_at`,
);

export function readProvider(row: Record<string, unknown>): Provider | null {
  if (row.p_id === null || row.p_id === undefined) return null;
  return {
    id: String(row.p_id),
    tenantId: String(row.p_tenant_id),
    name: String(row.p_name),
    kind: String(row.p_kind) as ProviderKind,
    enabled: isTrue(row.p_enabled),
    issuer: row.p_issuer === null || row.p_issuer === undefined ? null : String(row.p_issuer),
    clientId: String(row.p_client_id),
    clientSecretSealed: String(row.p_secret),
    scopes: parseTextArray(row.p_scopes),
    emailClaim: String(row.p_email_claim),
    trustEmailVerified: isTrue(row.p_trust),
    allowedDomains: parseTextArray(row.p_domains),
    createdAt: timestamp(row.p_created_at),
    updatedAt: timestamp(row.p_updated_at),
  };
}

function hasTenant(row: Record<string, unknown> | undefined): boolean {
  return row?.tenant_id !== null && row?.tenant_id !== undefined;
}

export async function listProviders(
  db: Database,
  target: TenantTarget,
): Promise<Provider[] | null> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    page as (select ${PROVIDER_COLUMNS} from federation_providers fp where fp.tenant_id = (select id from t))
    select (select id from t) as tenant_id,
      (select json_agg(page order by page.p_created_at, page.p_id) from page) as items`);
  const row = result.rows[0];
  if (!hasTenant(row)) return null;
  return jsonRows(row!.items).map((item) => readProvider(item)!);
}

export async function findProvider(
  db: Database,
  target: TenantTarget,
  name: string,
): Promise<Found<Provider>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)}
    select (select id from t) as tenant_id, ${PROVIDER_COLUMNS}
    from (select 1) one
    left join federation_providers fp on fp.tenant_id = (select id from t) and fp.name = ${name}`);
  const row = result.rows[0];
  if (!hasTenant(row)) return { tenant: false };
  return { tenant: true, value: readProvider(row!) };
}

export interface NewProvider extends ProviderFields {
  id: string;
  clientSecretSealed: string;
  now: Date;
}

/** null value: a provider of that name exists already. */
export async function insertProvider(
  db: Database,
  target: TenantTarget,
  p: NewProvider,
): Promise<Found<Provider>> {
  const at = p.now.toISOString();
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    fp as (
      insert into federation_providers (id, tenant_id, name, kind, enabled, issuer, client_id,
        client_secret_sealed, scopes, email_claim, trust_email_verified, allowed_domains, created_at, updated_at)
      select ${p.id}::uuid, t.id, ${p.name}, ${p.kind}, ${p.enabled}, ${p.issuer}::text, ${p.clientId},
        ${p.clientSecretSealed}, ${textArray(p.scopes)}, ${p.emailClaim}, ${p.trustEmailVerified},
        ${textArray(p.allowedDomains)}, ${at}::timestamptz, ${at}::timestamptz
      from t
      on conflict (tenant_id, name) do nothing
      returning *
    ),
    ${auditCTE(target, { type: 'admin.federation_provider.created', target: 'federation_provider', at: p.now, details: { name: p.name, kind: p.kind } }, 'fp', 'id')}
    select (select id from t) as tenant_id, ${PROVIDER_COLUMNS} from (select 1) one left join fp on true`);
  const row = result.rows[0];
  if (!hasTenant(row)) return { tenant: false };
  return { tenant: true, value: readProvider(row!) };
}

/** Writes the merged fields only if the row is unchanged since it was read: else `stale`. */
export async function updateProvider(
  db: Database,
  target: TenantTarget,
  current: Provider,
  fields: ProviderFields & { clientSecretSealed: string },
  changed: string[],
  now: Date,
): Promise<Provider | 'stale'> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    fp as (
      update federation_providers set enabled = ${fields.enabled}, issuer = ${fields.issuer}::text,
        client_id = ${fields.clientId}, client_secret_sealed = ${fields.clientSecretSealed},
        scopes = ${textArray(fields.scopes)}, email_claim = ${fields.emailClaim},
        trust_email_verified = ${fields.trustEmailVerified}, allowed_domains = ${textArray(fields.allowedDomains)},
        updated_at = ${now.toISOString()}::timestamptz
      where tenant_id = (select id from t) and id = ${current.id}::uuid
        and updated_at = ${current.updatedAt.toISOString()}::timestamptz
      returning *
    ),
    ${auditCTE(target, { type: 'admin.federation_provider.updated', target: 'federation_provider', at: now, details: { name: current.name, fields: changed } }, 'fp', 'id')}
    select ${PROVIDER_COLUMNS} from fp`);
  const row = result.rows[0];
  return row === undefined ? 'stale' : readProvider(row)!;
}

/**
 * Deletes the provider; its identities and pending sign-ins go with it (cascade). Unless
 * `force`, only when no user would be left without a way to sign in (no password, no passkey,
 * no identity at another provider): `stranded` counts them and nothing is written.
 */
export async function deleteProvider(
  db: Database,
  target: TenantTarget,
  name: string,
  now: Date,
  force: boolean,
): Promise<Found<{ deleted: boolean; stranded: number }>> {
  const result = await db.execute(sql`
    with ${tenantCTE(target)},
    fp0 as (select id from federation_providers where tenant_id = (select id from t) and name = ${name}),
    stranded as (
      select count(*)::int as n from federated_identities fi join users u on u.id = fi.user_id
      where fi.provider_id = (select id from fp0) and u.password_hash is null
        and not exists (select 1 from passkeys p where p.user_id = u.id)
        and not exists (select 1 from federated_identities o where o.user_id = u.id and o.provider_id <> fi.provider_id)
    ),
    fp as (
      delete from federation_providers where id = (select id from fp0)
        and (${force} or (select n from stranded) = 0)
      returning id
    ),
    ${auditCTE(target, { type: 'admin.federation_provider.deleted', target: 'federation_provider', at: now, details: { name, forced: force } }, 'fp', 'id')}
    select (select id from t) as tenant_id, exists (select 1 from fp0) as found,
      (select n from stranded) as stranded, (select count(*) from fp)::int as deleted`);
  const row = result.rows[0];
  if (!hasTenant(row)) return { tenant: false };
  if (!isTrue(row!.found)) return { tenant: true, value: null };
  return {
    tenant: true,
    value: { deleted: Number(row!.deleted) > 0, stranded: Number(row!.stranded) },
  };
}
