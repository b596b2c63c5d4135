// The plaintext: newline-delimited JSON records, optionally gzip-compressed as one gzip member.
import { ArchiveError, InvalidContentError } from './errors.ts';
import type { Compression } from './header.ts';

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One row of one table. Binary values travel as base64url strings, bigints as strings. */
export interface ArchiveRecord {
  table: string;
  row: { [column: string]: JsonValue };
}

/** Default limit on one record line when reading: bounds memory whatever the archive holds. */
export const DEFAULT_MAX_RECORD_LENGTH = 16 * 1024 * 1024;

/** Records are gathered into chunks of about this size before compression and sealing. */
const BATCH_SIZE = 16 * 1024;
const NEWLINE = 0x0a;

export function encodeRecord(record: ArchiveRecord): Uint8Array {
  if (typeof record.table !== 'string' || record.table.length === 0) {
    throw new TypeError('record.table must be a non-empty string');
  }
  if (typeof record.row !== 'object' || record.row === null || Array.isArray(record.row)) {
    throw new TypeError('record.row must be a JSON object');
  }
  // JSON.stringify escapes every line break inside strings, so a record is exactly one line.
  return new TextEncoder().encode(JSON.stringify({ table: record.table, row: record.row }) + '\n');
}

/** Records in, NDJSON bytes out, batched so that gzip and the sealer see few large chunks. */
export function createRecordEncoder(): TransformStream<ArchiveRecord, Uint8Array> {
  let batch: Uint8Array[] = [];
  let batched = 0;
  const drain = (): Uint8Array => {
    const out = concat(batch, batched);
    batch = [];
    batched = 0;
    return out;
  };
  return new TransformStream<ArchiveRecord, Uint8Array>({
    transform(record, controller) {
      const line = encodeRecord(record);
      batch.push(line);
      batched += line.length;
      if (batched >= BATCH_SIZE) controller.enqueue(drain());
    },
    flush(controller) {
      if (batched > 0) controller.enqueue(drain());
    },
  });
}

export function compress(
  bytes: ReadableStream<Uint8Array>,
  compression: Compression,
): ReadableStream<Uint8Array> {
  return compression === 'gzip' ? bytes.pipeThrough(new CompressionStream('gzip')) : bytes;
}

/** Plaintext segments in, decompressed bytes out; archive errors from upstream pass unchanged. */
export async function* decompress(
  segments: AsyncIterator<Uint8Array, void, undefined>,
  compression: Compression,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (compression === 'none') {
    for (let next = await segments.next(); next.done !== true; next = await segments.next()) {
      yield next.value;
    }
    return;
  }
  const source = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await segments.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await segments.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  const reader = source.pipeThrough(new DecompressionStream('gzip')).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new InvalidContentError('content is not valid gzip', { cause: error });
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Splits NDJSON bytes into records, refusing any line longer than `maxRecordLength` bytes. */
export async function* parseRecords(
  chunks: AsyncIterable<Uint8Array>,
  maxRecordLength: number,
): AsyncGenerator<ArchiveRecord, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let carry: Uint8Array[] = [];
  let carried = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const tail = chunk.subarray(start, end);
      if (carried + tail.length > maxRecordLength) throw tooLong(maxRecordLength);
      const line = carried === 0 ? tail : concat([...carry, tail], carried + tail.length);
      carry = [];
      carried = 0;
      start = end + 1;
      yield decodeRecord(decoder, line);
    }
    if (start < chunk.length) {
      carried += chunk.length - start;
      if (carried > maxRecordLength) throw tooLong(maxRecordLength);
      carry.push(chunk.slice(start));
    }
  }
  if (carried > 0) throw new InvalidContentError('the last record is not terminated by a newline');
}

function decodeRecord(decoder: TextDecoder, line: Uint8Array): ArchiveRecord {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(line));
  } catch (cause) {
    throw new InvalidContentError('a record is not UTF-8 JSON', { cause });
  }
  const record = value as Partial<ArchiveRecord> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.table !== 'string' ||
    record.table.length === 0 ||
    typeof record.row !== 'object' ||
    record.row === null ||
    Array.isArray(record.row)
  ) {
    throw new InvalidContentError('a line is not a {"table", "row"} record');
  }
  return { table: record.table, row: record.row };
}

function tooLong(limit: number): InvalidContentError {
  return new InvalidContentError(`a record is longer than ${limit} bytes`);
}

export function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
