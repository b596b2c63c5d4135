/// <reference types="vite/client" />
// The bkp1 format inside workerd: the test vector of docs/backup-format.md in both directions,
// round trips across segments, and every way an archive is refused, by error code.
import { beforeAll, describe, expect, it } from 'vitest';
import doc from '../../../docs/backup-format.md?raw';
import {
  ArchiveError,
  createArchiveWriter,
  openArchive,
  readArchive,
  TAG_LENGTH,
  writeArchive,
  type ArchiveErrorCode,
  type ArchiveRecord,
  type ArchiveWriterOptions,
} from '../../../src/features/backup/format.ts';
import { encodeHex, utf8 } from '../../../src/lib/encoding.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from '../../../src/lib/pbkdf2.ts';

function decodeHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** The fenced block that follows `<!-- bkp1-vector:NAME -->` in the document. */
function vectorBlock(name: string): string {
  const match = new RegExp(`<!-- bkp1-vector:${name} -->\\s*\`\`\`\\n([^\`]*)\`\`\``).exec(doc);
  if (match === null) throw new Error(`no ${name} block in docs/backup-format.md`);
  return match[1]!;
}

const PASSPHRASE = 'correct horse battery staple';
const WRONG_PASSPHRASE = 'correct horse battery stapler';
const SALT = Uint8Array.from({ length: 32 }, (_, i) => i);
const IV = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
const METADATA = {
  schemaVersion: 3,
  tenantSlug: 'acme',
  exportedAt: new Date('2026-01-02T03:04:05Z'),
};
const VECTOR_RECORDS: ArchiveRecord[] = [
  { table: 'tenants', row: { slug: 'acme', name: 'Acme Corp' } },
  { table: 'users', row: { email: 'ada@example.com', name: 'Ada' } },
];
const SEGMENT = 64;
const SEALED = SEGMENT + TAG_LENGTH;

/**
 * The real PBKDF2 (600,000 iterations through @noble/hashes here, ~15 s in local workerd),
 * remembered per input so the tests below share two derivations instead of repeating them.
 */
const derivations = new Map<string, Promise<Uint8Array>>();
const kdf: Pbkdf2SHA256 = (password, salt, options) => {
  const id = `${encodeHex(password)}:${encodeHex(salt)}:${options.iterations}`;
  let key = derivations.get(id);
  if (key === undefined) {
    key = pbkdf2SHA256(password, salt, options);
    derivations.set(id, key);
  }
  return key;
};

function options(overrides: Partial<ArchiveWriterOptions> = {}): ArchiveWriterOptions {
  return {
    passphrase: PASSPHRASE,
    metadata: METADATA,
    compression: 'none',
    segmentSize: SEGMENT,
    random: { bytes: (length) => (length === 32 ? SALT : IV).slice() },
    kdf,
    ...overrides,
  };
}

async function readCode(bytes: Uint8Array, passphrase = PASSPHRASE): Promise<ArchiveErrorCode> {
  try {
    await readArchive(bytes, passphrase, { kdf });
  } catch (error) {
    if (error instanceof ArchiveError) return error.code;
    throw error;
  }
  throw new Error('the archive was accepted');
}

function flipBit(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[offset]! ^= mask;
  return copy;
}

function headerLength(bytes: Uint8Array): number {
  return 52 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, false);
}

/** Ten segments of 64 bytes and a shorter last one. */
const MANY_RECORDS: ArchiveRecord[] = Array.from({ length: 12 }, (_, i) => ({
  table: 'users',
  row: { id: i, email: `u${i}@example.com` },
}));
let archive: Uint8Array;
let header: number;
let segments: number;

beforeAll(async () => {
  // Pays for the two real derivations up front, under a timeout that allows for them.
  const salt = SALT;
  const iterations = 600_000;
  await Promise.all([
    kdf(utf8.encode(PASSPHRASE), salt, { iterations, keyLength: 32 }),
    kdf(utf8.encode(WRONG_PASSPHRASE), salt, { iterations, keyLength: 32 }),
  ]);
  archive = await writeArchive(MANY_RECORDS, options());
  header = headerLength(archive);
  segments = Math.ceil((archive.length - header) / SEALED);
}, 120_000);

describe('bkp1 test vector (docs/backup-format.md) in workerd', () => {
  const vectorHex = vectorBlock('archive').replace(/\s+/g, '');

  it('the writer produces the document bytes exactly', async () => {
    const bytes = await writeArchive(VECTOR_RECORDS, options());
    expect(encodeHex(bytes)).toBe(vectorHex);
  });

  it('the reader turns the document bytes into the records and metadata', async () => {
    const { metadata, records } = await readArchive(decodeHex(vectorHex), PASSPHRASE, { kdf });
    expect(records).toEqual(VECTOR_RECORDS);
    expect(metadata).toMatchObject({ ...METADATA, segmentSize: SEGMENT, compression: 'none' });
  });
});

describe('bkp1 round trips', () => {
  it('returns many records spanning several segments, in order, uncompressed', async () => {
    expect(segments).toBeGreaterThanOrEqual(5);
    const { records } = await readArchive(archive, PASSPHRASE, { kdf });
    expect(records).toEqual(MANY_RECORDS);
  });

  it('returns them through gzip too, with unicode and line breaks inside values', async () => {
    const records = Array.from({ length: 500 }, (_, i) => ({
      table: i % 2 === 0 ? 'users' : 'audit_log',
      row: { id: i, text: `line one\nline two é✓ ${'z'.repeat(i % 40)}`, nested: { ok: true } },
    }));
    const bytes = await writeArchive(records, options({ compression: 'gzip' }));
    expect(bytes.length - headerLength(bytes)).toBeGreaterThan(3 * SEALED);
    const read = await readArchive(bytes, PASSPHRASE, { kdf });
    expect(read.metadata.compression).toBe('gzip');
    expect(read.records).toEqual(records);
  });

  it('ends an empty archive in one final segment of just a tag', async () => {
    const bytes = await writeArchive([], options());
    expect(bytes.length - headerLength(bytes)).toBe(TAG_LENGTH);
    expect((await readArchive(bytes, PASSPHRASE, { kdf })).records).toEqual([]);
  });

  it('ends content that fills whole segments in a full final segment', async () => {
    // Each line is exactly 64 bytes: 3 lines, 3 full segments, the third one final.
    const line = (i: number): ArchiveRecord => ({ table: 't', row: { i, p: 'x'.repeat(29) } });
    const records = [line(1), line(2), line(3)];
    expect(JSON.stringify(records[0]).length + 1).toBe(SEGMENT);
    const bytes = await writeArchive(records, options());
    expect(bytes.length - headerLength(bytes)).toBe(3 * SEALED);
    expect((await readArchive(bytes, PASSPHRASE, { kdf })).records).toEqual(records);
  });
});

describe('bkp1 refusals', () => {
  it('a wrong passphrase: archive_decryption_failed', async () => {
    expect(await readCode(archive, WRONG_PASSPHRASE)).toBe('archive_decryption_failed');
  });

  it('an edited tenant slug in the header: archive_decryption_failed, no metadata returned', async () => {
    const slugAt = utf8.decode(archive.subarray(0, header)).indexOf('"acme"') + 4; // the "e"
    const edited = flipBit(archive, slugAt); // "acme" -> "acmd"
    expect(utf8.decode(edited.subarray(0, header))).toContain('"tenant_slug":"acmd"');
    expect(await readCode(edited)).toBe('archive_decryption_failed');
  });

  it('an edited schema version in the header: archive_decryption_failed', async () => {
    const at = utf8.decode(archive.subarray(0, header)).indexOf('"schema_version":3') + 17;
    expect(await readCode(flipBit(archive, at))).toBe('archive_decryption_failed'); // 3 -> 2
  });

  it('a flipped bit in the IV: archive_decryption_failed', async () => {
    expect(await readCode(flipBit(archive, header - 1))).toBe('archive_decryption_failed');
  });

  it('a flipped bit in the first segment: archive_decryption_failed', async () => {
    expect(await readCode(flipBit(archive, header + 3))).toBe('archive_decryption_failed');
  });

  it('a flipped bit in a later segment: archive_corrupt', async () => {
    expect(await readCode(flipBit(archive, header + 2 * SEALED + 10))).toBe('archive_corrupt');
  });

  it('a flipped bit in a later tag: archive_corrupt', async () => {
    const lastTagByte = header + 3 * SEALED - 1;
    expect(await readCode(flipBit(archive, lastTagByte, 0x80))).toBe('archive_corrupt');
  });

  it('a flipped bit in the final tag: archive_corrupt', async () => {
    expect(await readCode(flipBit(archive, archive.length - 1))).toBe('archive_corrupt');
  });

  it('cut at a segment boundary: archive_truncated', async () => {
    const cut = archive.subarray(0, header + (segments - 1) * SEALED);
    expect(await readCode(cut)).toBe('archive_truncated');
    expect(await readCode(archive.subarray(0, header + SEALED))).toBe('archive_truncated');
  });

  it('cut inside a segment: archive_corrupt (indistinguishable from an edit)', async () => {
    expect(await readCode(archive.subarray(0, header + 2 * SEALED + 40))).toBe('archive_corrupt');
  });

  it('cut inside a tag-sized tail, after the header, or inside the header: archive_truncated', async () => {
    expect(await readCode(archive.subarray(0, header + SEALED + 10))).toBe('archive_truncated');
    expect(await readCode(archive.subarray(0, header))).toBe('archive_truncated');
    expect(await readCode(archive.subarray(0, header - 5))).toBe('archive_truncated');
    expect(await readCode(archive.subarray(0, 20))).toBe('archive_truncated');
  });

  it('two later segments swapped, or one dropped or repeated: archive_corrupt', async () => {
    const at = (i: number): Uint8Array =>
      archive.subarray(header + i * SEALED, header + (i + 1) * SEALED);
    const rest = archive.subarray(header + 3 * SEALED);
    const build = (...parts: Uint8Array[]): Uint8Array => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
      return out;
    };
    const head = archive.subarray(0, header);
    expect(await readCode(build(head, at(0), at(2), at(1), rest))).toBe('archive_corrupt');
    expect(await readCode(build(head, at(0), at(2), rest))).toBe('archive_corrupt');
    expect(await readCode(build(head, at(0), at(1), at(1), at(2), rest))).toBe('archive_corrupt');
  });

  it('the first two segments swapped: archive_decryption_failed', async () => {
    const swapped = archive.slice();
    swapped.set(archive.subarray(header + SEALED, header + 2 * SEALED), header);
    swapped.set(archive.subarray(header, header + SEALED), header + SEALED);
    expect(await readCode(swapped)).toBe('archive_decryption_failed');
  });

  it('bytes that are not bkp1 (bad magic, empty, gzip): archive_not_bkp1', async () => {
    expect(await readCode(flipBit(archive, 0))).toBe('archive_not_bkp1');
    expect(await readCode(new Uint8Array(0))).toBe('archive_not_bkp1');
    expect(await readCode(Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0))).toBe(
      'archive_not_bkp1',
    );
  });

  it('another format version or a KDF cost over the limit: archive_unsupported, before any KDF', async () => {
    const replaceInHeader = (from: string, to: string): Uint8Array => {
      const text = utf8.decode(archive.subarray(8, header - 44)).replace(from, to);
      const metadata = utf8.encode(text);
      const out = new Uint8Array(archive.length - (header - 52) + metadata.length);
      out.set(archive.subarray(0, 4));
      new DataView(out.buffer).setUint32(4, metadata.length, false);
      out.set(metadata, 8);
      out.set(archive.subarray(header - 44), 8 + metadata.length);
      return out;
    };
    let derived = 0;
    const countingKDF: Pbkdf2SHA256 = (...args) => ((derived += 1), kdf(...args));
    for (const edited of [
      replaceInHeader('"format_version":1', '"format_version":2'),
      replaceInHeader('"iterations":600000', '"iterations":99999999'),
      replaceInHeader('"iterations":600000', '"iterations":1000'),
      replaceInHeader('"compression":"none"', '"compression":"zstd"'),
      replaceInHeader('"segment_size":64', '"segment_size":1'),
      replaceInHeader('{', '['),
    ]) {
      await expect(readArchive(edited, PASSPHRASE, { kdf: countingKDF })).rejects.toMatchObject({
        code: 'archive_unsupported',
      });
    }
    expect(derived).toBe(0);
  });

  it('passphrases under 16 characters, writing or reading: archive_passphrase_too_short', async () => {
    const short = '0123456789abcde'; // 15
    expect(() => createArchiveWriter(options({ passphrase: short }))).toThrow(
      expect.objectContaining({ code: 'archive_passphrase_too_short' }),
    );
    expect(await readCode(archive, short)).toBe('archive_passphrase_too_short');
    // Counted in characters after NFC: "e" + U+0301 is one character, "é".
    const noKDF: Pbkdf2SHA256 = () => Promise.resolve(new Uint8Array(32));
    const eightAccents = 'e\u0301'.repeat(8); // 16 code points, 8 after NFC
    expect(() => createArchiveWriter(options({ passphrase: eightAccents, kdf: noKDF }))).toThrow(
      expect.objectContaining({ code: 'archive_passphrase_too_short' }),
    );
    const sixteen = [short + 'f', 'e\u0301'.repeat(15) + 'x'];
    for (const passphrase of sixteen) {
      expect(() => createArchiveWriter(options({ passphrase, kdf: noKDF }))).not.toThrow();
    }
  });
});

describe('bkp1 streaming in workerd', () => {
  it('streams 50 MB writer → reader: chunks at most one sealed segment, little in flight', async () => {
    const segmentSize = 65_536;
    const total = 50 * 1024 * 1024;
    const filler = 'y'.repeat(2_000);
    const writer = createArchiveWriter(options({ segmentSize }));
    let largestChunk = 0;
    const observed = writer.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          largestChunk = Math.max(largestChunk, chunk.length);
          controller.enqueue(chunk);
        },
      }),
    );
    let written = 0;
    let read = 0;
    let maxInFlight = 0;
    const produce = (async () => {
      const records = writer.writable.getWriter();
      for (let i = 0; written < total; i++) {
        const record = { table: 'users', row: { i, filler, salt: (i * 40503) % 65521 } };
        await records.write(record);
        written += JSON.stringify(record).length + 1;
      }
      await records.close();
    })();
    const opened = await openArchive(observed, PASSPHRASE, { kdf });
    let index = 0;
    for await (const record of opened.records()) {
      expect(record.row.i).toBe(index++);
      read += JSON.stringify(record).length + 1;
      maxInFlight = Math.max(maxInFlight, written - read);
    }
    await produce;
    expect(read).toBe(written);
    expect(largestChunk).toBeLessThanOrEqual(segmentSize + TAG_LENGTH);
    // Written but not yet read back: a few segments and record batches, never the archive.
    expect(maxInFlight).toBeLessThan(8 * segmentSize);
  }, 120_000);

  it('stopping early cancels the source stream', async () => {
    let isCancelled = false;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(archive);
      },
      cancel() {
        isCancelled = true;
      },
    });
    const opened = await openArchive(source, PASSPHRASE, { kdf });
    for await (const record of opened.records()) {
      expect(record.table).toBe('users');
      break;
    }
    expect(isCancelled).toBe(true);
  });
});
