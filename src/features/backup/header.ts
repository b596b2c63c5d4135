// The bkp1 header: magic, length-prefixed metadata JSON, salt and base IV. docs/backup-format.md
// is the specification; the constants below are its numbers.
import { utf8 } from '../../lib/encoding.ts';
import type { ByteReader } from './byte-reader.ts';
import {
  NotAnArchiveError,
  PassphraseTooShortError,
  TruncatedArchiveError,
  UnsupportedArchiveError,
} from './errors.ts';

export const MAGIC: Uint8Array = Uint8Array.of(0x62, 0x6b, 0x70, 0x31); // "bkp1"
export const FORMAT_VERSION = 1;
export const SALT_LENGTH = 32;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const KEY_LENGTH = 32;
export const KDF_NAME = 'PBKDF2-HMAC-SHA-256';
/** OWASP's 2023 figure for PBKDF2-HMAC-SHA-256 (Password Storage Cheat Sheet), fixed by issue 6. */
export const KDF_ITERATIONS = 600_000;
/** Readers refuse more: the count is read before anything is authenticated (~3 s of CPU). */
export const MAX_KDF_ITERATIONS = 2_000_000;
export const CIPHER = 'AES-256-GCM-STREAM';
export const CONTENT = 'ndjson';
/** 64 KiB, as age uses: small enough to keep memory flat, large enough that the tag is 0.02%. */
export const DEFAULT_SEGMENT_SIZE = 65_536;
export const MIN_SEGMENT_SIZE = 64;
/** Bounds what a reader buffers before the first tag is checked. */
export const MAX_SEGMENT_SIZE = 4 * 1024 * 1024;
export const MAX_METADATA_LENGTH = 65_536;
export const MIN_PASSPHRASE_LENGTH = 16;

export type Compression = 'none' | 'gzip';

/** What the exporter supplies; the writer adds the format fields. */
export interface ArchiveMetadataInput {
  /** The database schema version the rows were read from (src/db/schema-version.ts). */
  schemaVersion: number;
  tenantSlug: string;
  exportedAt: Date;
}

export interface ArchiveMetadata extends ArchiveMetadataInput {
  formatVersion: typeof FORMAT_VERSION;
  kdf: { name: typeof KDF_NAME; iterations: number };
  cipher: typeof CIPHER;
  segmentSize: number;
  compression: Compression;
  content: typeof CONTENT;
}

export interface ParsedHeader {
  /** The header bytes exactly as read: every segment's additional data. */
  bytes: Uint8Array;
  metadata: ArchiveMetadata;
  salt: Uint8Array;
  iv: Uint8Array;
}

/** NFC, so a passphrase typed on another system's keyboard layout gives the same bytes. */
export function encodePassphrase(passphrase: string): Uint8Array {
  const normalised = passphrase.normalize('NFC');
  if ([...normalised].length < MIN_PASSPHRASE_LENGTH) {
    throw new PassphraseTooShortError(
      `passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
  return utf8.encode(normalised);
}

/** The metadata JSON, members in a fixed order so the same input gives the same bytes. */
export function encodeMetadata(metadata: ArchiveMetadata): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      format_version: metadata.formatVersion,
      schema_version: metadata.schemaVersion,
      tenant_slug: metadata.tenantSlug,
      exported_at: metadata.exportedAt.toISOString(),
      kdf: { name: metadata.kdf.name, iterations: metadata.kdf.iterations },
      cipher: metadata.cipher,
      segment_size: metadata.segmentSize,
      compression: metadata.compression,
      content: metadata.content,
    }),
  );
}

export function encodeHeader(metadata: Uint8Array, salt: Uint8Array, iv: Uint8Array): Uint8Array {
  if (metadata.length > MAX_METADATA_LENGTH) throw new RangeError('metadata too long');
  const header = new Uint8Array(MAGIC.length + 4 + metadata.length + SALT_LENGTH + IV_LENGTH);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint32(MAGIC.length, metadata.length, false);
  header.set(metadata, MAGIC.length + 4);
  header.set(salt, MAGIC.length + 4 + metadata.length);
  header.set(iv, MAGIC.length + 4 + metadata.length + SALT_LENGTH);
  return header;
}

/** Reads and validates the header. Nothing in it is authenticated until the first segment is. */
export async function readHeader(input: ByteReader): Promise<ParsedHeader> {
  const prefix = await input.read(MAGIC.length + 4);
  const magic = prefix.subarray(0, MAGIC.length);
  if (prefix.length === 0 || !magic.every((byte, i) => byte === MAGIC[i])) {
    throw new NotAnArchiveError('not a bkp1 archive');
  }
  if (prefix.length < MAGIC.length + 4) throw truncated('the metadata length');
  const metadataLength = new DataView(prefix.buffer, prefix.byteOffset).getUint32(4, false);
  if (metadataLength > MAX_METADATA_LENGTH) {
    throw new UnsupportedArchiveError(`metadata longer than ${MAX_METADATA_LENGTH} bytes`);
  }
  const metadataBytes = await input.read(metadataLength);
  if (metadataBytes.length < metadataLength) throw truncated('the metadata');
  const metadata = decodeMetadata(metadataBytes);
  const keying = await input.read(SALT_LENGTH + IV_LENGTH);
  if (keying.length < SALT_LENGTH + IV_LENGTH) throw truncated('the salt and IV');
  const salt = keying.slice(0, SALT_LENGTH);
  const iv = keying.slice(SALT_LENGTH);
  return { bytes: encodeHeader(metadataBytes, salt, iv), metadata, salt, iv };
}

function truncated(where: string): TruncatedArchiveError {
  return new TruncatedArchiveError(`archive ends inside ${where}`);
}

function decodeMetadata(bytes: Uint8Array): ArchiveMetadata {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (cause) {
    throw new UnsupportedArchiveError('metadata is not UTF-8 JSON', { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw unsupported('metadata is not a JSON object');
  }
  // Unknown members are ignored: the header is authenticated, and informational additions need
  // no new format version. Anything that changes how bytes are read needs one.
  const m = json as Record<string, unknown>;
  if (m.format_version !== FORMAT_VERSION) {
    const shown = typeof m.format_version === 'number' ? m.format_version : 'missing';
    throw unsupported(`format_version ${shown} is not supported`);
  }
  const kdf = m.kdf as Record<string, unknown> | null | undefined;
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== KDF_NAME) {
    throw unsupported(`kdf must be ${KDF_NAME}`);
  }
  const iterations = kdf.iterations;
  if (!isIntegerIn(iterations, KDF_ITERATIONS, MAX_KDF_ITERATIONS)) {
    throw unsupported(`kdf iterations must be between ${KDF_ITERATIONS} and ${MAX_KDF_ITERATIONS}`);
  }
  if (m.cipher !== CIPHER) throw unsupported(`cipher must be ${CIPHER}`);
  if (m.content !== CONTENT) throw unsupported(`content must be ${CONTENT}`);
  if (m.compression !== 'none' && m.compression !== 'gzip') {
    throw unsupported('compression must be none or gzip');
  }
  if (!isIntegerIn(m.segment_size, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)) {
    throw unsupported(`segment_size must be between ${MIN_SEGMENT_SIZE} and ${MAX_SEGMENT_SIZE}`);
  }
  if (!isIntegerIn(m.schema_version, 0, Number.MAX_SAFE_INTEGER)) {
    throw unsupported('schema_version must be a non-negative integer');
  }
  if (typeof m.tenant_slug !== 'string' || m.tenant_slug.length === 0) {
    throw unsupported('tenant_slug must be a non-empty string');
  }
  const exportedAt = typeof m.exported_at === 'string' ? new Date(m.exported_at) : undefined;
  if (exportedAt === undefined || Number.isNaN(exportedAt.getTime())) {
    throw unsupported('exported_at must be an ISO 8601 timestamp');
  }
  return {
    formatVersion: FORMAT_VERSION,
    schemaVersion: m.schema_version,
    tenantSlug: m.tenant_slug,
    exportedAt,
    kdf: { name: KDF_NAME, iterations },
    cipher: CIPHER,
    segmentSize: m.segment_size,
    compression: m.compression,
    content: CONTENT,
  };
}

function unsupported(message: string): UnsupportedArchiveError {
  return new UnsupportedArchiveError(message);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}
