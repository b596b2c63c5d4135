import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { Found, LinkResult } from './roles-repo.ts';

/** What the admin services use: the database and the clock. */
export type RbacDeps = Pick<Deps, 'db' | 'clock'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isId(value: string): boolean {
  return UUID.test(value);
}

/** A malformed id names nothing: 404 before any query (Postgres would refuse the cast). */
export function assertId(id: string, what: string): void {
  if (!UUID.test(id)) throw new AppError('not_found', `no such ${what}`);
}

export const MAX_LABEL_LENGTH = 100;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Human-facing names (groups, organizations): 1 to 100 characters, trimmed, no control characters. */
export function checkLabel(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LABEL_LENGTH || CONTROL.test(trimmed)) {
    throw new AppError(
      'invalid_request',
      `${field} must be 1 to ${MAX_LABEL_LENGTH} characters, without control characters`,
    );
  }
  return trimmed;
}

export function unknownTenant(): AppError {
  return new AppError('unknown_tenant', 'no such tenant');
}

/** The value of a lookup, or the 404 for whichever of tenant and thing is missing. */
export function found<T>(result: Found<T>, what: string): T {
  if (!result.tenant) throw unknownTenant();
  if (result.value === null) throw new AppError('not_found', `no such ${what}`);
  return result.value;
}

/**
 * A link write (assign, add, grant and their reverses): 404 for a missing end; when `mustChange`
 * (removals), 404 too if there was no link to remove.
 */
export function linked(
  result: LinkResult,
  names: { left: string; right: string },
  options: { mustChange: boolean },
): void {
  if (!result.tenant) throw unknownTenant();
  if (!result.found.left) throw new AppError('not_found', `no such ${names.left}`);
  if (!result.found.right) throw new AppError('not_found', `no such ${names.right}`);
  if (options.mustChange && !result.changed) {
    throw new AppError('not_found', `the ${names.left} has no such ${names.right}`);
  }
}
