// PBKDF2-HMAC-SHA-256 vectors from RFC 7914 ("The scrypt Password-Based Key Derivation
// Function"), §11 "Test Vectors for PBKDF2 with HMAC-SHA-256", checked inside workerd under the
// production limits of test/worker/limits.ts (WebCrypto PBKDF2 refused above 100,000 iterations).
// No vector is published at 600,000 iterations: there the result is compared with workerd's
// node:crypto (BoringSSL), which local workerd does not cap (production caps it too, workerd's
// checkPbkdfLimits, so it is no way around the limit).
import { pbkdf2Sync } from 'node:crypto';
import { pbkdf2 as noblePbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { KDF_ITERATIONS } from '../../../src/features/backup/format.ts';
import { encodeHex, utf8 } from '../../../src/lib/encoding.ts';
import { pbkdf2SHA256 } from '../../../src/lib/pbkdf2.ts';

const RFC_7914_VECTORS = [
  {
    password: 'passwd',
    salt: 'salt',
    iterations: 1,
    hex:
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc' +
      '49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
  },
  {
    password: 'Password',
    salt: 'NaCl',
    iterations: 80_000,
    hex:
      '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56' +
      'a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d',
  },
];

async function webCryptoPbkdf2(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<string> {
  const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    length * 8,
  );
  return encodeHex(new Uint8Array(bits));
}

describe('PBKDF2-HMAC-SHA-256 in workerd', () => {
  for (const vector of RFC_7914_VECTORS) {
    const name = `P="${vector.password}" S="${vector.salt}" c=${vector.iterations}`;

    it(`noble, WebCrypto, node:crypto and pbkdf2SHA256 all give RFC 7914's bytes for ${name}`, async () => {
      const password = utf8.encode(vector.password);
      const salt = utf8.encode(vector.salt);
      const { iterations } = vector;
      const noble = noblePbkdf2(sha256, password, salt, { c: iterations, dkLen: 64 });
      const ours = await pbkdf2SHA256(password, salt, { iterations, keyLength: 64 });
      const node = pbkdf2Sync(password, salt, iterations, 64, 'sha256');
      expect(encodeHex(noble)).toBe(vector.hex);
      expect(await webCryptoPbkdf2(password, salt, iterations, 64)).toBe(vector.hex);
      expect(encodeHex(new Uint8Array(node))).toBe(vector.hex);
      expect(encodeHex(ours)).toBe(vector.hex);
    });
  }

  it('WebCrypto refuses 600,000 iterations here, as production Workers do', async () => {
    const bytes = utf8.encode('x');
    await expect(webCryptoPbkdf2(bytes, bytes, KDF_ITERATIONS, 32)).rejects.toMatchObject({
      name: 'NotSupportedError',
    });
  });

  it('pbkdf2SHA256 derives 600,000 iterations despite that, equal to node:crypto', async () => {
    const password = utf8.encode('a backup passphrase of some length');
    const salt = Uint8Array.from({ length: 32 }, (_, i) => i);
    const start = Date.now();
    const ours = await pbkdf2SHA256(password, salt, { iterations: KDF_ITERATIONS, keyLength: 32 });
    const elapsed = Date.now() - start;
    const node = pbkdf2Sync(password, salt, KDF_ITERATIONS, 32, 'sha256');
    expect(encodeHex(ours)).toBe(encodeHex(new Uint8Array(node)));
    // Local workerd advances its clock during computation, so this is the derivation's wall time.
    console.log(`pbkdf2SHA256, ${KDF_ITERATIONS} iterations, in workerd: ${elapsed} ms`);
  }, 120_000);
});
