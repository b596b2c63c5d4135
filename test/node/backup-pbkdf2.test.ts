// PBKDF2-HMAC-SHA-256 vectors from RFC 7914 ("The scrypt Password-Based Key Derivation
// Function"), §11 "Test Vectors for PBKDF2 with HMAC-SHA-256". There is no published vector at
// 600,000 iterations, so there @noble/hashes is checked against Node's OpenSSL implementation.
import { pbkdf2Sync } from 'node:crypto';
import { pbkdf2 as noblePbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { encodeHex, utf8 } from '../../src/lib/encoding.ts';
import { pbkdf2SHA256 } from '../../src/lib/pbkdf2.ts';

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
  password: string,
  salt: string,
  iterations: number,
  length: number,
): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8.encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: utf8.encode(salt), iterations },
    key,
    length * 8,
  );
  return encodeHex(new Uint8Array(bits));
}

describe('PBKDF2-HMAC-SHA-256 in Node', () => {
  for (const vector of RFC_7914_VECTORS) {
    const name = `P="${vector.password}" S="${vector.salt}" c=${vector.iterations}`;

    it(`noble, WebCrypto, node:crypto and pbkdf2SHA256 all give RFC 7914's bytes for ${name}`, async () => {
      const { password, salt, iterations } = vector;
      const noble = noblePbkdf2(sha256, password, salt, { c: iterations, dkLen: 64 });
      const ours = await pbkdf2SHA256(utf8.encode(password), utf8.encode(salt), {
        iterations,
        keyLength: 64,
      });
      expect(encodeHex(noble)).toBe(vector.hex);
      expect(await webCryptoPbkdf2(password, salt, iterations, 64)).toBe(vector.hex);
      expect(pbkdf2Sync(password, salt, iterations, 64, 'sha256').toString('hex')).toBe(vector.hex);
      expect(encodeHex(ours)).toBe(vector.hex);
    });
  }

  it('pbkdf2SHA256 (noble above 100,000) equals node:crypto at 600,000 iterations', async () => {
    const password = utf8.encode('a backup passphrase of some length');
    const salt = Uint8Array.from({ length: 32 }, (_, i) => i);
    const ours = await pbkdf2SHA256(password, salt, { iterations: 600_000, keyLength: 32 });
    const node = pbkdf2Sync(password, salt, 600_000, 32, 'sha256');
    expect(encodeHex(ours)).toBe(node.toString('hex'));
  });

  it('refuses a non-positive iteration count instead of deriving a weak key', async () => {
    const bytes = utf8.encode('x');
    await expect(pbkdf2SHA256(bytes, bytes, { iterations: 0, keyLength: 32 })).rejects.toThrow(
      RangeError,
    );
  });
});
