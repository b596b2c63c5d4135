import { AppError, type ErrorCode } from '../../errors.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { decodeBase64, encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { KEY_PURPOSE, deriveHMACKey } from '../../lib/keys.ts';
import type { TenantSettings } from '../tenants/settings.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

/** The most production Workers allow for WebCrypto PBKDF2 (cloudflare/workerd#1346). */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
/** Id of the pepper key in stored hashes; a new id lets the pepper be rotated later. */
export const PEPPER_ID = 'k1';

export interface PasswordHasher {
  hash(password: string, salt: Uint8Array): Promise<string>;
  verify(stored: string | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
}

interface ParsedHash {
  iterations: number;
  pepper: string;
  salt: Uint8Array;
  hash: Uint8Array;
}

// Stored form: pbkdf2-sha256$i=<iterations>$p=<pepper id|none>$<salt>$<hash>, base64url parts.
function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 5 || parts[0] !== 'pbkdf2-sha256') return null;
  const iterations = Number(parts[1]?.replace(/^i=/, ''));
  const pepper = parts[2]?.replace(/^p=/, '') ?? '';
  if (!Number.isInteger(iterations) || iterations < 1 || pepper === '') return null;
  try {
    return { iterations, pepper, salt: decodeBase64(parts[3]!), hash: decodeBase64(parts[4]!) };
  } catch {
    return null;
  }
}

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * PBKDF2-HMAC-SHA-256 over HMAC(pepper, password): the pepper key comes from SECRET_KEY, so a
 * stolen database alone cannot be brute-forced offline.
 */
export function createPasswordHasher(secretKey: Uint8Array): PasswordHasher {
  let pepperKey: Promise<CryptoKey> | undefined;
  const pepper = async (password: string, pepperId: string): Promise<Uint8Array> => {
    const text = utf8.encode(normalizePassword(password));
    if (pepperId === 'none') return text;
    if (pepperId !== PEPPER_ID) throw new Error('unknown pepper id');
    pepperKey ??= deriveHMACKey(secretKey, KEY_PURPOSE.passwordPepper);
    return new Uint8Array(await crypto.subtle.sign('HMAC', await pepperKey, text as BufferSource));
  };
  const derive = async (
    input: Uint8Array,
    salt: Uint8Array,
    iterations: number,
  ): Promise<Uint8Array> => {
    const key = await crypto.subtle.importKey('raw', input as BufferSource, 'PBKDF2', false, [
      'deriveBits',
    ]);
    const bits = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
      key,
      HASH_BITS,
    );
    return new Uint8Array(bits);
  };
  // Unknown accounts are checked against this, so they cost the same hash as known ones.
  const dummy = `pbkdf2-sha256$i=${PBKDF2_ITERATIONS}$p=${PEPPER_ID}$${encodeBase64url(new Uint8Array(SALT_BYTES))}$${encodeBase64url(new Uint8Array(HASH_BITS / 8))}`;

  return {
    async hash(password, salt) {
      const derived = await derive(await pepper(password, PEPPER_ID), salt, PBKDF2_ITERATIONS);
      return `pbkdf2-sha256$i=${PBKDF2_ITERATIONS}$p=${PEPPER_ID}$${encodeBase64url(salt)}$${encodeBase64url(derived)}`;
    },
    async verify(stored, password) {
      const parsed = parseHash(stored ?? dummy) ?? parseHash(dummy)!;
      const derived = await derive(
        await pepper(password, parsed.pepper),
        parsed.salt,
        parsed.iterations,
      );
      const ok = stored !== null && timingSafeEqual(derived, parsed.hash);
      return {
        ok,
        needsRehash: parsed.iterations !== PBKDF2_ITERATIONS || parsed.pepper !== PEPPER_ID,
      };
    },
  };
}

export function newSalt(random: { bytes(length: number): Uint8Array }): Uint8Array {
  return random.bytes(SALT_BYTES);
}

const COMMON = new Set(COMMON_PASSWORDS.map((password) => password.toLowerCase()));
const MAX_LENGTH = 128;

/** Checks a new password against the tenant's policy; throws naming the first rule it breaks. */
export function checkPasswordPolicy(
  policy: TenantSettings['passwordPolicy'],
  password: string,
  email: string,
): void {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  const fail = (code: ErrorCode, description: string): never => {
    throw new AppError(code, description, { extra: { rule: code.replace(/^password_/, '') } });
  };
  if (length < policy.minLength)
    fail('password_too_short', `at least ${policy.minLength} characters`);
  if (length > MAX_LENGTH) fail('password_too_long', `at most ${MAX_LENGTH} characters`);
  if (COMMON.has(normalized.toLowerCase()))
    fail('password_too_common', 'this password is too common');
  const classes = policy.requireClasses;
  if (classes.includes('lowercase') && !/\p{Ll}/u.test(normalized)) {
    fail('password_missing_lowercase', 'needs a lower-case letter');
  }
  if (classes.includes('uppercase') && !/\p{Lu}/u.test(normalized)) {
    fail('password_missing_uppercase', 'needs an upper-case letter');
  }
  if (classes.includes('digit') && !/\p{Nd}/u.test(normalized))
    fail('password_missing_digit', 'needs a digit');
  if (classes.includes('symbol') && !/[^\p{L}\p{Nd}]/u.test(normalized)) {
    fail('password_missing_symbol', 'needs a symbol');
  }
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (
    policy.rejectEmailLocalPart &&
    local.length >= 3 &&
    normalized.toLowerCase().includes(local)
  ) {
    fail('password_contains_email', 'must not contain the email address');
  }
}
