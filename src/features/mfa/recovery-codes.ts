import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Random } from '../../deps.ts';
import { hashToken } from '../../lib/keys.ts';

export const RECOVERY_CODE_COUNT = 10;
/** 10 random bytes: 80 bits, so a stored SHA-256 cannot be reversed by search (no slow hash needed). */
const RECOVERY_CODE_BYTES = 10;

/** Ten fresh codes, shown once: `xxxx-xxxx-xxxx-xxxx` in lower-case base32. */
export function generateRecoveryCodes(random: Random): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const text = encodeBase32LowerCaseNoPadding(random.bytes(RECOVERY_CODE_BYTES));
    return text.match(/.{4}/g)!.join('-');
  });
}

/** Case and separators (spaces, dashes, dots, underscores) do not matter when a code is typed. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s._-]/g, '');
}

/** What is stored and compared: SHA-256 (base64url) of the normalised code. */
export function hashRecoveryCode(code: string): Promise<string> {
  return hashToken(`gatehouse-recovery-code:${normalizeRecoveryCode(code)}`);
}

/** A typed code that could be a recovery code: 16 base32 characters once normalised. */
export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z2-7]{16}$/.test(normalizeRecoveryCode(code));
}
