import { sql } from 'drizzle-orm';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import { AppError } from '../errors.ts';
import type { Database } from './client.ts';

/** The schema version this build was generated against: the number of migrations in drizzle/. */
export const EXPECTED_SCHEMA_VERSION: number = journal.entries.length;

const UNDEFINED_TABLE = '42P01';
const INVALID_SCHEMA_NAME = '3F000';

/** The number of migrations `npm run db:migrate` has applied to this database. One round trip. */
export async function readSchemaVersion(db: Database): Promise<number> {
  try {
    const result = await db.execute<{ version: number }>(
      sql`select count(*)::int as version from drizzle.__drizzle_migrations`,
    );
    return Number(result.rows[0]?.version ?? 0);
  } catch (error) {
    const code = pgErrorCode(error);
    if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA_NAME) return 0;
    throw error;
  }
}

export function assertSchemaVersion(actual: number): void {
  if (actual === EXPECTED_SCHEMA_VERSION) return;
  const relation = actual < EXPECTED_SCHEMA_VERSION ? 'older' : 'newer';
  throw new AppError(
    'schema_mismatch',
    `database schema version ${actual} is ${relation} than version ${EXPECTED_SCHEMA_VERSION} ` +
      'this build expects; run `npm run db:migrate` with the matching release',
    { extra: { database_version: actual, expected_version: EXPECTED_SCHEMA_VERSION } },
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
    check = readSchemaVersion(db).then(assertSchemaVersion);
    verified.set(databaseURL, check);
    check.catch(() => verified.delete(databaseURL));
  }
  return check;
}
