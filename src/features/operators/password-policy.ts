import { MAX_OPERATOR_PASSWORD_LENGTH, MIN_OPERATOR_PASSWORD_LENGTH } from '../../env.ts';
import { AppError, type ErrorCode } from '../../errors.ts';
import { COMMON_PASSWORDS } from '../accounts/common-passwords.ts';
import { normalizePassword } from '../accounts/password.ts';

/** Stricter than any tenant's: an operator password guards every tenant at once. */
export const OPERATOR_PASSWORD_MIN_LENGTH = MIN_OPERATOR_PASSWORD_LENGTH;
export const OPERATOR_PASSWORD_MAX_LENGTH = MAX_OPERATOR_PASSWORD_LENGTH;
/** Of lower, upper, digit, other: NIST SP 800-63B drops composition rules, the issue asks for them. */
export const OPERATOR_PASSWORD_MIN_CLASSES = 3;
/** Fragments of the email's local part this long or longer may not appear in the password. */
const FRAGMENT_LENGTH = 3;

const COMMON = new Set(COMMON_PASSWORDS.map((password) => password.toLowerCase()));

export interface OperatorPasswordOptions {
  /** The deployment's minimum (Config.operatorPasswordMinLength); never below the floor of 12. */
  minLength?: number;
}

/** Throws naming the first rule the password breaks, each rule with its own code. */
export function checkOperatorPassword(
  password: string,
  email: string,
  options: OperatorPasswordOptions = {},
): void {
  const minLength = Math.max(options.minLength ?? 0, OPERATOR_PASSWORD_MIN_LENGTH);
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  const fail = (code: ErrorCode, description: string): never => {
    throw new AppError(code, description, { extra: { rule: code.replace(/^password_/, '') } });
  };
  // First: every listed password is shorter than 12, so after the length rule this could never fire.
  if (COMMON.has(normalized.toLowerCase())) {
    fail('password_too_common', 'this password is too common');
  }
  if (length < minLength) {
    fail('password_too_short', `at least ${minLength} characters`);
  }
  if (length > OPERATOR_PASSWORD_MAX_LENGTH) {
    fail('password_too_long', `at most ${OPERATOR_PASSWORD_MAX_LENGTH} characters`);
  }
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) =>
    re.test(normalized),
  ).length;
  if (classes < OPERATOR_PASSWORD_MIN_CLASSES) {
    fail(
      'password_too_few_classes',
      `needs at least ${OPERATOR_PASSWORD_MIN_CLASSES} of: lower-case, upper-case, digit, other`,
    );
  }
  if (containsFragment(normalized.toLowerCase(), emailLocalPart(email))) {
    fail('password_contains_email', 'must not contain part of the email address');
  }
}

function emailLocalPart(email: string): string {
  const at = email.lastIndexOf('@');
  return normalizePassword(at < 0 ? email : email.slice(0, at)).toLowerCase();
}

/** Whether any FRAGMENT_LENGTH-character piece of `local` appears in `password`. */
function containsFragment(password: string, local: string): boolean {
  const chars = [...local];
  for (let i = 0; i + FRAGMENT_LENGTH <= chars.length; i++) {
    if (password.includes(chars.slice(i, i + FRAGMENT_LENGTH).join(''))) return true;
  }
  return false;
}
