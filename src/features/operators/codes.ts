import type { Random } from '../../deps.ts';

/**
 * Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed from a terminal
 * cannot be mistaken (https://www.crockford.com/base32.html). 32 symbols: 5 bits each.
 */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `XXXX-XXXX-XXXX…` of `groups` groups of four symbols; 256 % 32 = 0, so no modulo bias. */
export function generateCode(random: Random, groups: number): string {
  const bytes = random.bytes(groups * 4);
  const symbols = [...bytes].map((byte) => CODE_ALPHABET[byte % 32]!);
  const parts: string[] = [];
  for (let i = 0; i < groups; i++) parts.push(symbols.slice(i * 4, i * 4 + 4).join(''));
  return parts.join('-');
}

/**
 * The canonical form a code is hashed in: upper case, separators and spaces dropped, and the
 * look-alikes Crockford decodes (O → 0, I and L → 1) mapped, so a mistyped look-alike still works.
 */
export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** Whether `input` could be a code of `groups` groups at all (checked before any hashing). */
export function isCodeShaped(input: string, groups: number): boolean {
  const normalized = normalizeCode(input);
  return (
    normalized.length === groups * 4 && [...normalized].every((c) => CODE_ALPHABET.includes(c))
  );
}

/** 12 symbols = 60 bits: enough for a code that lives 15 minutes and is stored as SHA-256. */
export const BOOTSTRAP_CODE_GROUPS = 3;
/** 16 symbols = 80 bits: recovery codes live until used, so they get more. */
export const RECOVERY_CODE_GROUPS = 4;
export const RECOVERY_CODE_COUNT = 10;
