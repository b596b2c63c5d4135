// Archive and database failures of an import or export, as the service's own errors.
import { pgErrorCode } from '../../db/schema-version.ts';
import { AppError } from '../../errors.ts';
import { ArchiveError } from './errors.ts';

const INTEGRITY_CONSTRAINT_CLASS = '23';

/** ArchiveError keeps its code (a 4xx each); a constraint violation is the archive's content. */
export function toAppError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof ArchiveError) {
    return new AppError(error.code, error.message, { cause: error });
  }
  const code = pgErrorCode(error);
  if (code?.startsWith(INTEGRITY_CONSTRAINT_CLASS)) {
    const constraint = (error as { constraint?: unknown }).constraint;
    if (typeof constraint === 'string' && constraint.startsWith('tenants_slug')) {
      return new AppError('conflict', 'a tenant with that slug exists', { cause: error });
    }
    return new AppError(
      'archive_invalid_content',
      `the archive's rows break a rule of this database${typeof constraint === 'string' ? ` (${constraint})` : ''}`,
      { cause: error },
    );
  }
  return error;
}
