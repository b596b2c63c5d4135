// STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
// Nonce-Reuse Misuse-Resistance", CRYPTO 2015), instantiated with AES-256-GCM as age and Tink's
// streaming AEAD do: a per-segment nonce from a counter and a final-segment flag, so segments
// cannot be reordered, dropped, or cut off at a boundary without a tag failing.
import type { ByteReader } from './byte-reader.ts';
import {
  CorruptArchiveError,
  DecryptionFailedError,
  TruncatedArchiveError,
  UnsupportedArchiveError,
} from './errors.ts';
import { IV_LENGTH, TAG_LENGTH } from './header.ts';

/** The counter takes the IV's bytes 7..10: 2^32 segments (256 TiB at 64 KiB) per archive. */
export const MAX_SEGMENTS = 2 ** 32;

export function importSegmentKey(key: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** nonce = IV XOR (0x00 * 7 || uint32_be(index) || isLast ? 0x01 : 0x00). */
export function segmentNonce(iv: Uint8Array, index: number, isLast: boolean): Uint8Array {
  if (iv.length !== IV_LENGTH) throw new RangeError('IV must be 12 bytes');
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SEGMENTS) {
    throw new RangeError('segment index out of range');
  }
  const nonce = iv.slice();
  nonce[7]! ^= (index >>> 24) & 0xff;
  nonce[8]! ^= (index >>> 16) & 0xff;
  nonce[9]! ^= (index >>> 8) & 0xff;
  nonce[10]! ^= index & 0xff;
  if (isLast) nonce[11]! ^= 0x01;
  return nonce;
}

interface SegmentParams {
  key: CryptoKey;
  /** Every segment's additional data: binds each one to this exact header. */
  header: Uint8Array;
  iv: Uint8Array;
}

async function sealSegment(
  params: SegmentParams,
  index: number,
  isLast: boolean,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const sealed = await crypto.subtle.encrypt(
    {
      name: 'AES-GCM',
      iv: segmentNonce(params.iv, index, isLast),
      additionalData: params.header,
      tagLength: TAG_LENGTH * 8,
    },
    params.key,
    plaintext,
  );
  return new Uint8Array(sealed);
}

async function openSegment(
  params: SegmentParams,
  index: number,
  isLast: boolean,
  sealed: Uint8Array,
): Promise<Uint8Array | undefined> {
  try {
    const plaintext = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: segmentNonce(params.iv, index, isLast),
        additionalData: params.header,
        tagLength: TAG_LENGTH * 8,
      },
      params.key,
      sealed,
    );
    return new Uint8Array(plaintext);
  } catch {
    return undefined;
  }
}

/**
 * Emits the header, then cuts the plaintext into `segmentSize` segments and seals each. A full
 * segment is held until a further byte arrives, so the final one is known without a look-ahead
 * from the caller: it is empty only when the whole plaintext is. Buffering is one segment.
 */
export function createSegmentSealer(
  params: Omit<SegmentParams, 'key'> & { key: Promise<CryptoKey>; segmentSize: number },
): TransformStream<Uint8Array, Uint8Array> {
  const buffer = new Uint8Array(params.segmentSize);
  let filled = 0;
  let index = 0;
  let segment: SegmentParams | undefined;

  const seal = async (isLast: boolean): Promise<Uint8Array> => {
    if (segment === undefined) throw new Error('segment key not ready');
    // WebCrypto copies its input when called, so the buffer is free again once this returns.
    const sealed = await sealSegment(segment, index, isLast, buffer.subarray(0, filled));
    index += 1;
    filled = 0;
    return sealed;
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    async start(controller) {
      controller.enqueue(params.header);
      segment = { key: await params.key, header: params.header, iv: params.iv };
    },
    async transform(chunk, controller) {
      for (let offset = 0; offset < chunk.length;) {
        if (filled === buffer.length) controller.enqueue(await seal(false));
        const size = Math.min(buffer.length - filled, chunk.length - offset);
        buffer.set(chunk.subarray(offset, offset + size), filled);
        filled += size;
        offset += size;
      }
    },
    async flush(controller) {
      controller.enqueue(await seal(true));
    },
  });
}

/**
 * Reads and opens segments in order, yielding each plaintext only after its tag verified. The
 * final segment is the one the stream ends after (or inside).
 */
export async function* openSegments(
  input: ByteReader,
  params: SegmentParams & { segmentSize: number },
): AsyncGenerator<Uint8Array, void, undefined> {
  const fullLength = params.segmentSize + TAG_LENGTH;
  for (let index = 0; ; index++) {
    if (index >= MAX_SEGMENTS) throw new UnsupportedArchiveError('too many segments');
    const sealed = await input.read(fullLength);
    if (sealed.length < TAG_LENGTH) {
      throw new TruncatedArchiveError('archive ends inside a segment tag');
    }
    const isLast = sealed.length < fullLength || (await input.isAtEnd());
    const plaintext = await openSegment(params, index, isLast, sealed);
    if (plaintext === undefined) {
      // A full segment that opens as a non-final one is intact: the file was cut right after it.
      if (isLast && sealed.length === fullLength) {
        if ((await openSegment(params, index, false, sealed)) !== undefined) {
          throw new TruncatedArchiveError('archive ends at a segment boundary');
        }
      }
      throw index === 0
        ? new DecryptionFailedError('wrong passphrase, or the archive was altered')
        : new CorruptArchiveError(`segment ${index} failed authentication`);
    }
    yield plaintext;
    if (isLast) return;
  }
}
