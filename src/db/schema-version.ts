// The compatibility window (docs/deploy.md): a build serves a database at its own schema version
// or ahead of it by additive migrations only, so `npm run db:migrate` can run before a rolling
// deploy without the running version refusing service. Anything else is 503 schema_mismatch.
import { sql } from 'drizzle-orm';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import { AppError } from '../errors.ts';
import type { Database } from './client.ts';

/** The schema version this build was generated against: the number of migrations in drizzle/. */
export const EXPECTED_SCHEMA_VERSION: number = journal.entries.length;

const UNDEFINED_TABLE = '42P01';
const INVALID_SCHEMA_NAME = '3F000';

export interface SchemaState {
  /** Migrations applied (drizzle's own table): the database's schema version. */
  version: number;
  /**
   * Of the migrations beyond this build's version, how many `db:migrate` recorded as additive in
   * drizzle.migration_kinds. A migration with no recorded kind counts as breaking.
   */
  additiveAhead: number;
  /** The first migration beyond this build that is not recorded as additive, when known. */
  firstBreaking: string | null;
}

/**
 * Reads the applied version and the kinds of the migrations beyond this build. One round trip.
 * A database without either table (never migrated, or last migrated by a release that did not
 * record kinds) reads as version 0: `npm run db:migrate` is the remedy in both cases.
 */
export async function readSchemaState(db: Database): Promise<SchemaState> {
  try {
    const result = await db.execute<{
      version: number;
      additive_ahead: number;
      first_breaking: string | null;
    }>(sql`
      with applied as (select count(*)::int as version from drizzle.__drizzle_migrations),
      ahead as (
        select k.idx, k.tag, k.kind from drizzle.migration_kinds k, applied
        where k.idx >= ${EXPECTED_SCHEMA_VERSION} and k.idx < applied.version
      )
      select applied.version,
        (select count(*)::int from ahead where kind = 'additive') as additive_ahead,
        (select tag from ahead where kind <> 'additive' order by idx limit 1) as first_breaking
      from applied`);
    const row = result.rows[0];
    return {
      version: Number(row?.version ?? 0),
      additiveAhead: Number(row?.additive_ahead ?? 0),
      firstBreaking: row?.first_breaking ?? null,
    };
  } catch (error) {
    const code = pgErrorCode(error);
    if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA_NAME) {
      return { version: 0, additiveAhead: 0, firstBreaking: null };
    }
    throw error;
  }
}

/** Whether this build may serve the database: equal, or ahead by additive migrations only. */
export function isCompatible(state: SchemaState): boolean {
  if (state.version === EXPECTED_SCHEMA_VERSION) return true;
  return (
    state.version > EXPECTED_SCHEMA_VERSION &&
    state.additiveAhead === state.version - EXPECTED_SCHEMA_VERSION
  );
}

export function assertSchemaCompatible(state: SchemaState): void {
  if (isCompatible(state)) return;
  const { version } = state;
  const extra = { database_version: version, expected_version: EXPECTED_SCHEMA_VERSION };
  if (version < EXPECTED_SCHEMA_VERSION) {
    throw new AppError(
      'schema_mismatch',
      `database schema version ${version} is older than version ${EXPECTED_SCHEMA_VERSION} ` +
        'this build expects; run `npm run db:migrate` with this release',
      { extra },
    );
  }
  // Ahead by something other than additive migrations: an older build may not read it safely.
  const breaking = state.firstBreaking ?? 'a migration with no recorded kind';
  throw new AppError(
    'schema_mismatch',
    `database schema version ${version} is newer than version ${EXPECTED_SCHEMA_VERSION} this ` +
      `build expects, and not only by additive migrations (${breaking} is breaking); deploy ` +
      'the release that migrated it',
    { extra: { ...extra, breaking_migration: state.firstBreaking } },
  );
}

/** The Postgres SQLSTATE of a driver error, wherever drizzle put it. */
export function pgErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

const verified = new Map<string, Promise<void>>();

/**
 * Checks the schema on an isolate's first request to a database and remembers a success; a
 * mismatch is re-checked on later requests, so a migration run while isolates live is noticed.
 */
export function ensureSchemaVersion(databaseURL: string, db: Database): Promise<void> {
  let check = verified.get(databaseURL);
  if (check === undefined) {
    check = readSchemaState(db).then(assertSchemaCompatible);
    verified.set(databaseURL, check);
    check.catch(() => verified.delete(databaseURL));
  }
  return check;
}
