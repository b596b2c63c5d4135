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

async function hkdfBits(secret: Uint8Array, purpose: string): Promise<ArrayBuffer> {
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

/** Labels the root secret itself (never a key): its id, written into every envelope it seals. */
const KEY_ID_PURPOSE = 'gatehouse/v1/key-id';

/**
 * Derived keys, per root secret object and purpose. Config is validated once per isolate, so its
 * secret bytes are one object for the isolate's life: each key is derived once, not per request.
 */
const derived = new WeakMap<Uint8Array, Map<string, Promise<unknown>>>();

function memoized<T>(secret: Uint8Array, slot: string, make: () => Promise<T>): Promise<T> {
  let slots = derived.get(secret);
  if (slots === undefined) derived.set(secret, (slots = new Map()));
  let found = slots.get(slot) as Promise<T> | undefined;
  if (found === undefined) {
    found = make();
    slots.set(slot, found);
    // A failed derivation is not kept: the next call tries again.
    found.catch(() => slots.delete(slot));
  }
  return found;
}

/**
 * The id of a root secret: 48 bits of an HKDF output under its own label, so it names the secret
 * without revealing anything about it or about the keys derived for other purposes.
 */
export function secretKeyId(secret: Uint8Array): Promise<string> {
  return memoized(secret, 'key-id', async () =>
    encodeBase64url(new Uint8Array(await hkdfBits(secret, KEY_ID_PURPOSE)).slice(0, 6)),
  );
}

/** Which root secret made each AES key (the id `seal` writes into its envelope). */
const sealingKeyIds = new WeakMap<CryptoKey, string>();

export function deriveAESKey(secret: Uint8Array, purpose: KeyPurpose): Promise<CryptoKey> {
  return memoized(secret, `aes:${purpose}`, async () => {
    const bits = await hkdfBits(secret, purpose);
    const key = await crypto.subtle.importKey('raw', bits, 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    sealingKeyIds.set(key, await secretKeyId(secret));
    return key;
  });
}

export function deriveHMACKey(secret: Uint8Array, purpose: KeyPurpose): Promise<CryptoKey> {
  return memoized(secret, `hmac:${purpose}`, async () => {
    const bits = await hkdfBits(secret, purpose);
    return crypto.subtle.importKey('raw', bits, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
  });
}

/** The raw bytes of a derived key: only to retire it (src/features/secrets), never to use it. */
export async function deriveKeyBytes(secret: Uint8Array, purpose: KeyPurpose): Promise<Uint8Array> {
  return new Uint8Array(await hkdfBits(secret, purpose));
}

export async function importHMACKey(bytes: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    bytes as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
}

/**
 * The root secrets a deployment holds: SECRET_KEY, and during a rotation SECRET_KEY_PREVIOUS.
 * Everything is sealed under `current`; what `previous` sealed still opens until it is resealed.
 */
export interface RootKeys {
  current: Uint8Array;
  previous: Uint8Array | null;
}

/** A single secret is a deployment that is not rotating. */
export function rootKeys(keys: Uint8Array | RootKeys): RootKeys {
  return keys instanceof Uint8Array ? { current: keys, previous: null } : keys;
}

/**
 * AES-256-GCM envelope: `v2.<key id>.<iv>.<ciphertext+tag>` in base64url (`v1.<iv>.<ct>`, from
 * builds before key ids, still opens). `context` is bound as additional data (e.g. tenant id and
 * key id), so a ciphertext moved to another row fails to decrypt. The key id names the root
 * secret, so a rotation can tell (in SQL) which rows still need resealing.
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
  const body = `${encodeBase64url(iv)}.${encodeBase64url(new Uint8Array(ciphertext))}`;
  const keyId = sealingKeyIds.get(key);
  return keyId === undefined ? `v1.${body}` : `v2.${keyId}.${body}`;
}

interface Envelope {
  keyId: string | null;
  iv: string;
  ciphertext: string;
}

function parseEnvelope(sealed: string): Envelope {
  const parts = sealed.split('.');
  if (parts[0] === 'v1' && parts.length === 3) {
    return { keyId: null, iv: parts[1]!, ciphertext: parts[2]! };
  }
  if (parts[0] === 'v2' && parts.length === 4) {
    return { keyId: parts[1]!, iv: parts[2]!, ciphertext: parts[3]! };
  }
  throw new TypeError('not a sealed envelope');
}

/** The id of the root secret an envelope was sealed under; null for `v1` (which does not say). */
export function envelopeKeyId(sealed: string): string | null {
  return parseEnvelope(sealed).keyId;
}

export async function open(key: CryptoKey, sealed: string, context: string): Promise<Uint8Array> {
  const { iv, ciphertext } = parseEnvelope(sealed);
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

/**
 * Opens an envelope under whichever root secret sealed it: the one its key id names, or for `v1`
 * (no id) the current secret, then the previous one. Throws if neither opens it.
 */
export async function openWithRootKeys(
  keys: Uint8Array | RootKeys,
  purpose: KeyPurpose,
  sealed: string,
  context: string,
): Promise<Uint8Array> {
  const { current, previous } = rootKeys(keys);
  const keyId = envelopeKeyId(sealed);
  if (keyId !== null) {
    const secret =
      previous !== null &&
      keyId !== (await secretKeyId(current)) &&
      keyId === (await secretKeyId(previous))
        ? previous
        : current;
    return open(await deriveAESKey(secret, purpose), sealed, context);
  }
  try {
    return await open(await deriveAESKey(current, purpose), sealed, context);
  } catch (error) {
    if (previous === null) throw error;
    return open(await deriveAESKey(previous, purpose), sealed, context);
  }
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
