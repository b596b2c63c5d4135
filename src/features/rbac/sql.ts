import { sql, type SQL } from 'drizzle-orm';
import { auditInsertEach, type ActorType } from '../audit/events.ts';
import { timestamp } from '../sessions/repo.ts';
import { parseJSON } from '../tenants/repo.ts';

/**
 * The tenant an admin call names by slug, and the tenant its credential is bound to (if any).
 * Resolved inside each statement: a bound credential naming another tenant matches nothing, so it
 * sees the same 404 as for a tenant that does not exist.
 */
export interface TenantTarget {
  slug: string;
  boundTenantId: string | null;
  /** Who acts: recorded with every write's audit event. */
  actor: AuditActor;
}

export interface AuditActor {
  type: ActorType;
  id: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditedChange {
  /** admin.<thing>.<past-tense verb>, e.g. admin.role.created. */
  type: `admin.${string}`;
  target: string;
  at: Date;
  details?: Record<string, unknown>;
}

/**
 * `audit as (…)`: one admin.* event per row of the CTE `source` (the rows the statement changed),
 * written by the same statement, so the event commits exactly when the change does. `targetId`
 * is a column of `source`.
 */
export function auditCTE(
  target: TenantTarget,
  change: AuditedChange,
  source: string,
  targetId: string,
): SQL {
  const insert = auditInsertEach(
    {
      type: change.type,
      actor: { type: target.actor.type, id: target.actor.id },
      target: { type: change.target, id: null },
      ip: target.actor.ip,
      userAgent: target.actor.userAgent,
      details: change.details ?? {},
      at: change.at,
    },
    sql.raw(source),
    { targetId: sql.raw(`${source}.${targetId}`), tenantId: sql`(select id from t)` },
  );
  return sql`audit as (${insert})`;
}

/** `t as (…)`: the target tenant's id, or no row. Every statement below starts with it. */
export function tenantCTE(target: TenantTarget): SQL {
  return sql`t as (
    select id from tenants
    where slug = ${target.slug} and (${target.boundTenantId}::uuid is null or id = ${target.boundTenantId}::uuid)
  )`;
}

export interface Page {
  limit: number;
  offset: number;
}

export interface Listing<T> {
  items: T[];
  total: number;
}

export function isTrue(value: unknown): boolean {
  return value === true || value === 't' || value === 'true';
}

export function optionalText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Timestamps arrive as Date, Postgres text, or (inside json_agg) ISO text. */
export function isoTime(value: unknown): string {
  return timestamp(value).toISOString();
}

/** A json_agg column as an array of rows. */
export function jsonRows(value: unknown): Record<string, unknown>[] {
  const parsed = parseJSON(value);
  return Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [];
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
