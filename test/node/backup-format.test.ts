// The bkp1 test vector of docs/backup-format.md, checked three ways in Node: the hex in the document
// equals an independent computation from the specification with Node's OpenSSL (node:crypto), the
// writer produces exactly those bytes, and the reader turns them back into the records. Then the
// Node-specific properties: gzip round trips and a 50 MB stream with bounded buffering.
import { createCipheriv, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createArchiveWriter,
  openArchive,
  readArchive,
  TAG_LENGTH,
  writeArchive,
  type ArchiveRecord,
  type ArchiveWriterOptions,
} from '../../src/features/backup/format.ts';
import { encodeHex } from '../../src/lib/encoding.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from '../../src/lib/pbkdf2.ts';

const doc = readFileSync(join(import.meta.dirname, '../../docs/backup-format.md'), 'utf8');

/** The fenced block that follows `<!-- bkp1-vector:NAME -->` in the document. */
function vectorBlock(name: string): string {
  const match = new RegExp(`<!-- bkp1-vector:${name} -->\\s*\`\`\`\\n([^\`]*)\`\`\``).exec(doc);
  if (match === null) throw new Error(`no ${name} block in docs/backup-format.md`);
  return match[1]!;
}

const VECTOR_RECORDS: ArchiveRecord[] = [
  { table: 'tenants', row: { slug: 'acme', name: 'Acme Corp' } },
  { table: 'users', row: { email: 'ada@example.com', name: 'Ada' } },
];
const VECTOR = {
  passphrase: 'correct horse battery staple',
  salt: Uint8Array.from({ length: 32 }, (_, i) => i),
  iv: Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i),
  metadata: { schemaVersion: 3, tenantSlug: 'acme', exportedAt: new Date('2026-01-02T03:04:05Z') },
  records: VECTOR_RECORDS,
};
const VECTOR_HEX = vectorBlock('archive').replace(/\s+/g, '');

/** The real PBKDF2, remembered per input: each test reuses derivations instead of repeating them. */
function memoisedKDF(): Pbkdf2SHA256 {
  const seen = new Map<string, Promise<Uint8Array>>();
  return (password, salt, options) => {
    const id = `${encodeHex(password)}:${encodeHex(salt)}:${options.iterations}:${options.keyLength}`;
    let key = seen.get(id);
    if (key === undefined) {
      key = pbkdf2SHA256(password, salt, options);
      seen.set(id, key);
    }
    return key;
  };
}
const kdf = memoisedKDF();

/** docs/backup-format.md, implemented from the text with node:crypto only. */
function referenceArchive(): string {
  const metadata = Buffer.from(
    JSON.stringify({
      format_version: 1,
      schema_version: 3,
      tenant_slug: 'acme',
      exported_at: '2026-01-02T03:04:05.000Z',
      kdf: { name: 'PBKDF2-HMAC-SHA-256', iterations: 600000 },
      cipher: 'AES-256-GCM-STREAM',
      segment_size: 64,
      compression: 'none',
      content: 'ndjson',
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32BE(metadata.length);
  const header = Buffer.concat([Buffer.from('bkp1'), length, metadata, VECTOR.salt, VECTOR.iv]);
  const key = pbkdf2Sync(VECTOR.passphrase.normalize('NFC'), VECTOR.salt, 600_000, 32, 'sha256');
  const plaintext = Buffer.from(vectorBlock('content'));
  const count = Math.max(1, Math.ceil(plaintext.length / 64));
  const parts: Buffer[] = [header];
  for (let i = 0; i < count; i++) {
    const nonce = Buffer.from(VECTOR.iv);
    nonce.writeUInt32BE((nonce.readUInt32BE(7) ^ i) >>> 0, 7);
    if (i === count - 1) nonce[11]! ^= 0x01;
    const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(header);
    parts.push(cipher.update(plaintext.subarray(i * 64, (i + 1) * 64)), cipher.final());
    parts.push(cipher.getAuthTag());
  }
  return Buffer.concat(parts).toString('hex');
}

function vectorOptions(): ArchiveWriterOptions {
  return {
    passphrase: VECTOR.passphrase,
    metadata: VECTOR.metadata,
    compression: 'none',
    segmentSize: 64,
    random: { bytes: (length) => (length === 32 ? VECTOR.salt : VECTOR.iv).slice() },
    kdf,
  };
}

describe('bkp1 test vector (docs/backup-format.md)', () => {
  it('the document content block is the two records as NDJSON', () => {
    const lines = VECTOR.records.map((record) => JSON.stringify(record) + '\n').join('');
    expect(vectorBlock('content')).toBe(lines);
  });

  it('the document hex equals an independent node:crypto implementation of the spec', () => {
    expect(VECTOR_HEX).toHaveLength(456 * 2);
    expect(referenceArchive()).toBe(VECTOR_HEX);
  });

  it('the writer produces the vector byte for byte', async () => {
    const bytes = await writeArchive(VECTOR.records, vectorOptions());
    expect(encodeHex(bytes)).toBe(VECTOR_HEX);
  });

  it('the reader turns the vector back into its metadata and records', async () => {
    const bytes = Buffer.from(VECTOR_HEX, 'hex');
    const { metadata, records } = await readArchive(new Uint8Array(bytes), VECTOR.passphrase, {
      kdf,
    });
    expect(records).toEqual(VECTOR.records);
    expect(metadata).toMatchObject({ ...VECTOR.metadata, segmentSize: 64, compression: 'none' });
    expect(metadata.kdf).toEqual({ name: 'PBKDF2-HMAC-SHA-256', iterations: 600_000 });
  });
});

describe('bkp1 in Node', () => {
  it('round-trips gzip-compressed records across many segments', async () => {
    const records = Array.from({ length: 2_000 }, (_, i) => ({
      table: i < 1_000 ? 'users' : 'sessions',
      row: { id: i, email: `user${i}@example.com`, note: 'é✓ "quoted"\nline', flag: i % 2 === 0 },
    }));
    const bytes = await writeArchive(records, { ...vectorOptions(), compression: 'gzip' });
    expect(bytes.length).toBeGreaterThan(10 * (64 + TAG_LENGTH));
    const read = await readArchive(bytes, VECTOR.passphrase, { kdf });
    expect(read.metadata.compression).toBe('gzip');
    expect(read.records).toEqual(records);
  });

  it('streams 50 MB of records writer → reader with buffering bounded by design', async () => {
    const segmentSize = 65_536;
    const totalBytes = 50 * 1024 * 1024;
    const filler = 'x'.repeat(900);
    const record = (i: number): ArchiveRecord => ({
      table: `t${i % 7}`,
      row: { i, hex: (i * 2654435761).toString(16), filler },
    });
    const lineLength = (r: ArchiveRecord): number => JSON.stringify(r).length + 1;

    const archive = createArchiveWriter({
      passphrase: VECTOR.passphrase,
      metadata: VECTOR.metadata,
      compression: 'none',
      segmentSize,
      kdf,
    });
    let largestChunk = 0;
    let archiveBytes = 0;
    const observed = archive.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          largestChunk = Math.max(largestChunk, chunk.length);
          archiveBytes += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    );

    let written = 0;
    let read = 0;
    let maxInFlight = 0;
    let count = 0;
    const produce = (async () => {
      const writer = archive.writable.getWriter();
      for (let i = 0; written < totalBytes; i++) {
        const next = record(i);
        await writer.write(next);
        written += lineLength(next);
        count = i + 1;
      }
      await writer.close();
    })();
    const opened = await openArchive(observed, VECTOR.passphrase, { kdf });
    let index = 0;
    let peakHeap = 0;
    for await (const got of opened.records()) {
      expect(got.row.i).toBe(index);
      read += lineLength(got);
      maxInFlight = Math.max(maxInFlight, written - read);
      if (index % 5_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      index += 1;
    }
    await produce;

    expect(index).toBe(count);
    expect(read).toBe(written);
    expect(archiveBytes).toBeGreaterThan(totalBytes);
    // The header is the first chunk; every other chunk is one sealed segment.
    expect(largestChunk).toBeLessThanOrEqual(segmentSize + TAG_LENGTH);
    // Bytes written but not yet read back: a few segments and record batches, never the archive.
    expect(maxInFlight).toBeLessThan(8 * segmentSize);
    console.log(
      `50 MB stream: ${count} records, ${archiveBytes} archive bytes, largest chunk ` +
        `${largestChunk}, most in flight ${maxInFlight} bytes, heap sampled up to ` +
        `${(peakHeap / 1024 / 1024).toFixed(1)} MiB`,
    );
  });
});
