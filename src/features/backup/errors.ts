/** Stable codes for every way a bkp1 archive can be refused. Callers and tests match on these. */
export type ArchiveErrorCode =
  | 'archive_passphrase_too_short'
  | 'archive_not_bkp1'
  | 'archive_unsupported'
  | 'archive_decryption_failed'
  | 'archive_corrupt'
  | 'archive_truncated'
  | 'archive_invalid_content';

/**
 * Base of the archive errors (jose's model: one subclass per code). Messages never carry the
 * passphrase, the key or plaintext.
 */
export abstract class ArchiveError extends Error {
  abstract readonly code: ArchiveErrorCode;
}

/** The passphrase has fewer than 16 characters (code points, after NFC normalisation). */
export class PassphraseTooShortError extends ArchiveError {
  readonly code = 'archive_passphrase_too_short';
  override readonly name = 'PassphraseTooShortError';
}

/** The bytes do not start with the magic `bkp1`: not a backup archive at all. */
export class NotAnArchiveError extends ArchiveError {
  readonly code = 'archive_not_bkp1';
  override readonly name = 'NotAnArchiveError';
}

/** A bkp1 file this reader cannot read: unknown format version, invalid or out-of-range metadata. */
export class UnsupportedArchiveError extends ArchiveError {
  readonly code = 'archive_unsupported';
  override readonly name = 'UnsupportedArchiveError';
}

/**
 * The first segment failed authentication. AES-GCM cannot tell a wrong passphrase from edited
 * header bytes or an edited first segment: all three give a different key or a bad tag.
 */
export class DecryptionFailedError extends ArchiveError {
  readonly code = 'archive_decryption_failed';
  override readonly name = 'DecryptionFailedError';
}

/**
 * A later segment failed authentication. The first one succeeded, so the passphrase is right:
 * the bytes were altered, reordered, or cut inside a segment.
 */
export class CorruptArchiveError extends ArchiveError {
  readonly code = 'archive_corrupt';
  override readonly name = 'CorruptArchiveError';
}

/**
 * The file ends early: inside the header, in a segment shorter than its tag, or exactly at a
 * segment boundary (proved by that segment authenticating as a non-final one).
 */
export class TruncatedArchiveError extends ArchiveError {
  readonly code = 'archive_truncated';
  override readonly name = 'TruncatedArchiveError';
}

/**
 * Authenticated plaintext that is not valid content (bad gzip, a line that is not a record, a
 * line over the size limit). Only a faulty writer or a passphrase holder can produce this.
 */
export class InvalidContentError extends ArchiveError {
  readonly code = 'archive_invalid_content';
  override readonly name = 'InvalidContentError';
}
