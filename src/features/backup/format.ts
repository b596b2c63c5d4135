// bkp1: the encrypted, streaming tenant archive. Specification: docs/backup-format.md.
import type { Random } from '../../deps.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from '../../lib/pbkdf2.ts';
import { ByteReader } from './byte-reader.ts';
import {
  CIPHER,
  CONTENT,
  DEFAULT_SEGMENT_SIZE,
  encodeHeader,
  encodeMetadata,
  encodePassphrase,
  FORMAT_VERSION,
  IV_LENGTH,
  KDF_ITERATIONS,
  KDF_NAME,
  KEY_LENGTH,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  readHeader,
  SALT_LENGTH,
  type ArchiveMetadata,
  type ArchiveMetadataInput,
  type Compression,
} from './header.ts';
import {
  compress,
  concat,
  createRecordEncoder,
  decompress,
  DEFAULT_MAX_RECORD_LENGTH,
  parseRecords,
  type ArchiveRecord,
} from './records.ts';
import { createSegmentSealer, importSegmentKey, openSegments } from './segments.ts';

export * from './errors.ts';
export {
  DEFAULT_SEGMENT_SIZE,
  KDF_ITERATIONS,
  MIN_PASSPHRASE_LENGTH,
  TAG_LENGTH,
  type ArchiveMetadata,
  type ArchiveMetadataInput,
  type Compression,
} from './header.ts';
export type { ArchiveRecord, JsonValue } from './records.ts';

const systemRandom: Random = { bytes: (length) => crypto.getRandomValues(new Uint8Array(length)) };

export interface ArchiveWriterOptions {
  passphrase: string;
  metadata: ArchiveMetadataInput;
  /** Default 'gzip'. The test vector uses 'none': gzip's bytes differ between implementations. */
  compression?: Compression;
  /** Plaintext bytes per segment; default 64 KiB. */
  segmentSize?: number;
  /** Draws the salt (32 bytes), then the IV (12 bytes). */
  random?: Random;
  /** PBKDF2-HMAC-SHA-256; tests pass a memoising wrapper around the real one. */
  kdf?: Pbkdf2SHA256;
}

export interface ArchiveWriter {
  /** Write records here; close it to finish the archive, abort it to fail the archive. */
  writable: WritableStream<ArchiveRecord>;
  /** The archive bytes: the header, then one chunk per sealed segment. */
  readable: ReadableStream<Uint8Array>;
  metadata: ArchiveMetadata;
}

/**
 * Streams records into a bkp1 archive. Memory stays at about one segment plus one batch of
 * records whatever the archive's size, provided the reader of `readable` keeps up: writes wait
 * (backpressure) while it does not.
 */
export function createArchiveWriter(options: ArchiveWriterOptions): ArchiveWriter {
  const password = encodePassphrase(options.passphrase);
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (
    !Number.isSafeInteger(segmentSize) ||
    segmentSize < MIN_SEGMENT_SIZE ||
    segmentSize > MAX_SEGMENT_SIZE
  ) {
    throw new RangeError(`segmentSize must be between ${MIN_SEGMENT_SIZE} and ${MAX_SEGMENT_SIZE}`);
  }
  const { schemaVersion, tenantSlug, exportedAt } = options.metadata;
  if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 0) {
    throw new RangeError('schemaVersion must be a non-negative integer');
  }
  if (tenantSlug.length === 0) throw new RangeError('tenantSlug must not be empty');
  if (Number.isNaN(exportedAt.getTime())) throw new RangeError('exportedAt is not a valid date');

  const metadata: ArchiveMetadata = {
    formatVersion: FORMAT_VERSION,
    schemaVersion,
    tenantSlug,
    exportedAt: new Date(exportedAt.getTime()),
    kdf: { name: KDF_NAME, iterations: KDF_ITERATIONS },
    cipher: CIPHER,
    segmentSize,
    compression: options.compression ?? 'gzip',
    content: CONTENT,
  };
  const random = options.random ?? systemRandom;
  const salt = random.bytes(SALT_LENGTH);
  const iv = random.bytes(IV_LENGTH);
  if (salt.length !== SALT_LENGTH || iv.length !== IV_LENGTH) {
    throw new RangeError('random source returned the wrong number of bytes');
  }
  const header = encodeHeader(encodeMetadata(metadata), salt, iv);
  const kdf = options.kdf ?? pbkdf2SHA256;
  const key = kdf(password, salt, { iterations: KDF_ITERATIONS, keyLength: KEY_LENGTH }).then(
    importSegmentKey,
  );
  // The sealer's start() awaits the key; a KDF failure errors the stream, not an orphan promise.
  key.catch(() => undefined);

  const records = createRecordEncoder();
  const readable = compress(records.readable, metadata.compression).pipeThrough(
    createSegmentSealer({ key, header, iv, segmentSize }),
  );
  return { writable: records.writable, readable, metadata };
}

export interface ArchiveReaderOptions {
  /** Refuse a record line longer than this many bytes (default 16 MiB). */
  maxRecordLength?: number;
  kdf?: Pbkdf2SHA256;
}

export interface OpenedArchive {
  /** Authenticated: returned only after the first segment verified under this exact header. */
  metadata: ArchiveMetadata;
  /**
   * The records, in order; call once. Each is released once its segment verified, before the
   * end of the archive is: treat an import as incomplete until iteration finishes without error.
   */
  records(): AsyncGenerator<ArchiveRecord, void, undefined>;
  /** Releases the source when the records will not be read to the end. */
  cancel(): Promise<void>;
}

/**
 * Opens a bkp1 archive: validates the header, derives the key and verifies the first segment, so
 * a wrong passphrase or an edited header fails here, before any record is read.
 */
export async function openArchive(
  source: ReadableStream<Uint8Array>,
  passphrase: string,
  options: ArchiveReaderOptions = {},
): Promise<OpenedArchive> {
  const password = encodePassphrase(passphrase);
  const input = new ByteReader(source);
  let isFinished = false;
  const finish = async (): Promise<void> => {
    if (isFinished) return;
    isFinished = true;
    await input.cancel().catch(() => undefined);
  };
  let segments: AsyncGenerator<Uint8Array, void, undefined>;
  let metadata: ArchiveMetadata;
  let first: Uint8Array | undefined;
  try {
    const header = await readHeader(input);
    metadata = header.metadata;
    const kdf = options.kdf ?? pbkdf2SHA256;
    const keyBytes = await kdf(password, header.salt, {
      iterations: metadata.kdf.iterations,
      keyLength: KEY_LENGTH,
    });
    const key = await importSegmentKey(keyBytes);
    segments = openSegments(input, {
      key,
      header: header.bytes,
      iv: header.iv,
      segmentSize: metadata.segmentSize,
    });
    const next = await segments.next();
    first = next.done === true ? undefined : next.value;
  } catch (error) {
    await finish();
    throw error;
  }

  let isStarted = false;
  async function* plaintext(): AsyncGenerator<Uint8Array, void, undefined> {
    if (first !== undefined) yield first;
    first = undefined;
    yield* segments;
  }
  async function* records(): AsyncGenerator<ArchiveRecord, void, undefined> {
    if (isStarted) throw new Error('records() can be read only once');
    isStarted = true;
    try {
      const bytes = decompress(plaintext(), metadata.compression);
      yield* parseRecords(bytes, options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH);
      isFinished = true;
      input.release();
    } finally {
      await finish();
    }
  }
  return { metadata, records, cancel: finish };
}

/** Writes a whole archive to memory: for small tenants and tests. */
export async function writeArchive(
  records: Iterable<ArchiveRecord> | AsyncIterable<ArchiveRecord>,
  options: ArchiveWriterOptions,
): Promise<Uint8Array> {
  const archive = createArchiveWriter(options);
  const collected = collect(archive.readable);
  // Its failure is reported through the writer below; this only keeps it from going unhandled.
  collected.catch(() => undefined);
  const writer = archive.writable.getWriter();
  try {
    for await (const record of records) await writer.write(record);
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    await collected.catch(() => undefined);
    throw error;
  }
  return collected;
}

/** Reads a whole archive from memory: for small tenants and tests. */
export async function readArchive(
  bytes: Uint8Array,
  passphrase: string,
  options: ArchiveReaderOptions = {},
): Promise<{ metadata: ArchiveMetadata; records: ArchiveRecord[] }> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const archive = await openArchive(source, passphrase, options);
  const records: ArchiveRecord[] = [];
  for await (const record of archive.records()) records.push(record);
  return { metadata: archive.metadata, records };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
    parts.push(next.value);
    length += next.value.length;
  }
  return concat(parts, length);
}
