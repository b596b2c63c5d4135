import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';

/**
 * Production Workers refuse WebCrypto PBKDF2 above this count with `NotSupportedError`
 * (cloudflare/workerd#1346); test/worker/limits.ts enforces the same in tests.
 */
export const WEBCRYPTO_PBKDF2_MAX_ITERATIONS = 100_000;

export interface Pbkdf2Options {
  iterations: number;
  /** Output length in bytes. */
  keyLength: number;
}

/** PBKDF2-HMAC-SHA-256, as a seam: tests may pass a memoising wrapper around the real one. */
export type Pbkdf2SHA256 = (
  password: Uint8Array,
  salt: Uint8Array,
  options: Pbkdf2Options,
) => Promise<Uint8Array>;

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) that runs at any iteration count on Workers: WebCrypto up
 * to the Workers cap, @noble/hashes (audited, pure JS) above it. The choice depends only on the
 * count, so Node and workerd run the same code for the same archive.
 */
export async function pbkdf2SHA256(
  password: Uint8Array,
  salt: Uint8Array,
  options: Pbkdf2Options,
): Promise<Uint8Array> {
  const { iterations, keyLength } = options;
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError('PBKDF2 iterations must be a positive integer');
  }
  if (!Number.isSafeInteger(keyLength) || keyLength < 1) {
    throw new RangeError('PBKDF2 key length must be a positive integer');
  }
  if (iterations > WEBCRYPTO_PBKDF2_MAX_ITERATIONS) {
    // Synchronous on purpose: the async variant yields by Date.now(), which does not advance
    // during computation on Workers, so it would only add per-iteration overhead there.
    return pbkdf2(sha256, password, salt, { c: iterations, dkLen: keyLength });
  }
  const baseKey = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    baseKey,
    keyLength * 8,
  );
  return new Uint8Array(bits);
}
