import { AppError, type ErrorCode } from '../../errors.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { decodeBase64, encodeBase64url, utf8 } from '../../lib/encoding.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  deriveHMACKey,
  open,
  openWithRootKeys,
  rootKeys,
  seal,
  type RootKeys,
} from '../../lib/keys.ts';
import type { TenantSettings } from '../tenants/settings.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

/** The most production Workers allow for WebCrypto PBKDF2 (cloudflare/workerd#1346). */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
/**
 * How stored hashes are peppered. `e1`: the PBKDF2 output is sealed (AES-256-GCM) under a key
 * derived from SECRET_KEY: a stolen database alone cannot be brute-forced offline, and a backup
 * can open the seal and the target deployment seal it again under its own key, so password logins
 * survive a move between deployments (issue 6). `k1` (HMAC of the password before PBKDF2) is
 * what earlier builds wrote: still verified, rehashed to `e1` at the next sign-in, and only valid
 * under the SECRET_KEY that made it. `none`: no pepper, only inside a backup archive.
 */
export const PEPPER_ID = 'e1';
const LEGACY_PEPPER_ID = 'k1';
const UNPEPPERED = 'none';
/** Bound as additional data: a sealed hash opens only as a password hash. */
const SEAL_CONTEXT = 'password-hash:v1';

export interface PasswordHasher {
  hash(password: string, salt: Uint8Array): Promise<string>;
  verify(stored: string | null, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
}

interface ParsedHash {
  iterations: number;
  pepper: string;
  salt: string;
  /** base64url of the hash (`none`, `k1`), or its `seal()` envelope (`e1`). */
  hash: string;
}

// Stored form: pbkdf2-sha256$i=<iterations>$p=<pepper id>$<salt>$<hash or sealed hash>.
function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 5 || parts[0] !== 'pbkdf2-sha256') return null;
  const iterations = Number(parts[1]?.replace(/^i=/, ''));
  const pepper = parts[2]?.replace(/^p=/, '') ?? '';
  if (!Number.isInteger(iterations) || iterations < 1 || pepper === '') return null;
  return { iterations, pepper, salt: parts[3]!, hash: parts[4]! };
}

function formatHash(parsed: ParsedHash): string {
  return `pbkdf2-sha256$i=${parsed.iterations}$p=${parsed.pepper}$${parsed.salt}$${parsed.hash}`;
}

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** The key `unsealPasswordHash` and `sealPasswordHash` take, for one deployment. */
export function passwordHashKey(secretKey: Uint8Array): Promise<CryptoKey> {
  return deriveAESKey(secretKey, KEY_PURPOSE.passwordHashEncryption);
}

/**
 * For a backup: the stored hash with its seal opened (`p=none`), so the archive carries what any
 * deployment can seal again. Legacy `k1` hashes cannot be opened and pass through as they are.
 */
export async function unsealPasswordHash(key: CryptoKey, stored: string): Promise<string> {
  const parsed = parseHash(stored);
  if (parsed?.pepper !== PEPPER_ID) return stored;
  const hash = await open(key, parsed.hash, SEAL_CONTEXT);
  return formatHash({ ...parsed, pepper: UNPEPPERED, hash: encodeBase64url(hash) });
}

/** For a restore: a `p=none` hash from an archive sealed under this deployment's key. */
export async function sealPasswordHash(key: CryptoKey, stored: string): Promise<string> {
  const parsed = parseHash(stored);
  if (parsed?.pepper !== UNPEPPERED) return stored;
  const sealed = await seal(key, decodeBase64(parsed.hash), SEAL_CONTEXT);
  return formatHash({ ...parsed, pepper: PEPPER_ID, hash: sealed });
}

/**
 * For a SECRET_KEY rotation: an `e1` hash with its seal opened under whichever root secret made
 * it and sealed again under the current one. Other hashes (`k1`, `none`) are returned as they are.
 */
export async function resealPasswordHash(secretKeys: RootKeys, stored: string): Promise<string> {
  const parsed = parseHash(stored);
  if (parsed?.pepper !== PEPPER_ID) return stored;
  const purpose = KEY_PURPOSE.passwordHashEncryption;
  const hash = await openWithRootKeys(secretKeys, purpose, parsed.hash, SEAL_CONTEXT);
  const key = await passwordHashKey(secretKeys.current);
  return formatHash({ ...parsed, hash: await seal(key, hash, SEAL_CONTEXT) });
}

/**
 * PBKDF2-HMAC-SHA-256, its output sealed under a key derived from SECRET_KEY (`e1`). During a
 * rotation, hashes sealed (or `k1`-peppered) under SECRET_KEY_PREVIOUS still verify.
 */
export function createPasswordHasher(secretKeys: Uint8Array | RootKeys): PasswordHasher {
  const { current: secretKey, previous } = rootKeys(secretKeys);
  const key = (): Promise<CryptoKey> => passwordHashKey(secretKey);
  const derive = async (
    input: Uint8Array,
    salt: Uint8Array,
    iterations: number,
  ): Promise<Uint8Array> => {
    const base = await crypto.subtle.importKey('raw', input as BufferSource, 'PBKDF2', false, [
      'deriveBits',
    ]);
    const bits = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
      base,
      HASH_BITS,
    );
    return new Uint8Array(bits);
  };
  const input = async (
    password: string,
    pepper: string,
    secret: Uint8Array = secretKey,
  ): Promise<Uint8Array> => {
    const text = utf8.encode(normalizePassword(password));
    if (pepper !== LEGACY_PEPPER_ID) return text;
    const legacyKey = await deriveHMACKey(secret, KEY_PURPOSE.passwordPepper);
    return new Uint8Array(await crypto.subtle.sign('HMAC', legacyKey, text as BufferSource));
  };
  /** The expected hash, or null when it cannot be had (unknown pepper, a seal that fails). */
  const expected = async (parsed: ParsedHash): Promise<Uint8Array | null> => {
    try {
      if (parsed.pepper === PEPPER_ID) {
        const purpose = KEY_PURPOSE.passwordHashEncryption;
        return await openWithRootKeys(secretKeys, purpose, parsed.hash, SEAL_CONTEXT);
      }
      if (parsed.pepper === LEGACY_PEPPER_ID || parsed.pepper === UNPEPPERED)
        return decodeBase64(parsed.hash);
      return null;
    } catch {
      return null;
    }
  };
  // Unknown accounts are checked against this, so they cost the same seal and hash as known ones.
  let dummy: Promise<string> | undefined;
  const dummyHash = async (): Promise<string> =>
    (dummy ??= (async () =>
      formatHash({
        iterations: PBKDF2_ITERATIONS,
        pepper: PEPPER_ID,
        salt: encodeBase64url(new Uint8Array(SALT_BYTES)),
        hash: await seal(await key(), new Uint8Array(HASH_BITS / 8), SEAL_CONTEXT),
      }))());

  return {
    async hash(password, salt) {
      const derived = await derive(await input(password, PEPPER_ID), salt, PBKDF2_ITERATIONS);
      return formatHash({
        iterations: PBKDF2_ITERATIONS,
        pepper: PEPPER_ID,
        salt: encodeBase64url(salt),
        hash: await seal(await key(), derived, SEAL_CONTEXT),
      });
    },
    async verify(stored, password) {
      const parsed = (stored === null ? null : parseHash(stored)) ?? parseHash(await dummyHash())!;
      const want = await expected(parsed);
      let salt: Uint8Array;
      try {
        salt = decodeBase64(parsed.salt);
      } catch {
        salt = new Uint8Array(SALT_BYTES);
      }
      const derived = await derive(await input(password, parsed.pepper), salt, parsed.iterations);
      let ok = stored !== null && want !== null && timingSafeEqual(derived, want);
      // A `k1` pepper cannot be resealed without the password: during a rotation, one made under
      // the previous key is tried with it (a second PBKDF2, legacy hashes only), then rehashed.
      if (!ok && stored !== null && want !== null && previous !== null) {
        if (parsed.pepper === LEGACY_PEPPER_ID) {
          const again = await input(password, parsed.pepper, previous);
          ok = timingSafeEqual(await derive(again, salt, parsed.iterations), want);
        }
      }
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
