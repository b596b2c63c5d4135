import { decodeBase64, encodeBase64url, utf8 } from './encoding.ts';

/**
 * Purpose labels for keys derived from SECRET_KEY with HKDF-SHA-256 (RFC 5869). One label per use,
 * so a key serving one purpose can never be replayed in another.
 */
export const KEY_PURPOSE = {
  signingKeyEncryption: 'gatehouse/v1/signing-key-encryption',
  /** Legacy (`p=k1` hashes): HMAC of the password before PBKDF2. Verified, never written. */
  passwordPepper: 'gatehouse/v1/password-pepper',
  /** `p=e1` hashes: the PBKDF2 output sealed with AES-GCM, so a backup can carry it re-sealable. */
  passwordHashEncryption: 'gatehouse/v1/password-hash-encryption',
  secretEncryption: 'gatehouse/v1/secret-encryption',
  auditChain: 'gatehouse/v1/audit-chain',
  /** HMAC of email one-time codes: six digits need a key, or a stolen hash falls to 10^6 tries. */
  emailOTP: 'gatehouse/v1/email-otp',
} as const;

export type KeyPurpose = (typeof KEY_PURPOSE)[keyof typeof KEY_PURPOSE];

async function hkdfBits(secret: Uint8Array, purpose: KeyPurpose): Promise<ArrayBuffer> {
  const base = await crypto.subtle.importKey('raw', secret as BufferSource, 'HKDF', false, [
    'deriveBits',
  ]);
  return crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(32),
      info: utf8.encode(purpose) as BufferSource,
    },
    base,
    256,
  );
}

export async function deriveAESKey(secret: Uint8Array, purpose: KeyPurpose): Promise<CryptoKey> {
  const bits = await hkdfBits(secret, purpose);
  return crypto.subtle.importKey('raw', bits, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function deriveHMACKey(secret: Uint8Array, purpose: KeyPurpose): Promise<CryptoKey> {
  const bits = await hkdfBits(secret, purpose);
  return crypto.subtle.importKey('raw', bits, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

/**
 * AES-256-GCM envelope: `v1.<iv>.<ciphertext+tag>` in base64url. `context` is bound as additional
 * data (e.g. tenant id and key id), so a ciphertext moved to another row fails to decrypt.
 */
export async function seal(
  key: CryptoKey,
  plaintext: Uint8Array,
  context: string,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: utf8.encode(context) as BufferSource },
    key,
    plaintext as BufferSource,
  );
  return `v1.${encodeBase64url(iv)}.${encodeBase64url(new Uint8Array(ciphertext))}`;
}

export async function open(key: CryptoKey, sealed: string, context: string): Promise<Uint8Array> {
  const [version, iv, ciphertext] = sealed.split('.');
  if (version !== 'v1' || iv === undefined || ciphertext === undefined) {
    throw new TypeError('not a v1 envelope');
  }
  const plaintext = await crypto.subtle.decrypt(
    {
      name: 'AES-GCM',
      iv: decodeBase64(iv) as BufferSource,
      additionalData: utf8.encode(context) as BufferSource,
    },
    key,
    decodeBase64(ciphertext) as BufferSource,
  );
  return new Uint8Array(plaintext);
}

export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

/** SHA-256 of a bearer secret, base64url: what the database stores instead of the secret. */
export async function hashToken(token: string): Promise<string> {
  return encodeBase64url(await sha256(token));
}

export function randomToken(bytes = 32): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}
