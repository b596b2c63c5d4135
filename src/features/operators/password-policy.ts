import { AppError, type ErrorCode } from '../../errors.ts';
import { COMMON_PASSWORDS } from '../accounts/common-passwords.ts';
import { normalizePassword } from '../accounts/password.ts';

/** Stricter than any tenant's: an operator password guards every tenant at once. */
export const OPERATOR_PASSWORD_MIN_LENGTH = 12;
export const OPERATOR_PASSWORD_MAX_LENGTH = 256;
/** Of lower, upper, digit, other: NIST SP 800-63B drops composition rules, the issue asks for them. */
export const OPERATOR_PASSWORD_MIN_CLASSES = 3;
/** Fragments of the email's local part this long or longer may not appear in the password. */
const FRAGMENT_LENGTH = 3;

const COMMON = new Set(COMMON_PASSWORDS.map((password) => password.toLowerCase()));

/** Throws naming the first rule the password breaks, each rule with its own code. */
export function checkOperatorPassword(password: string, email: string): void {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  const fail = (code: ErrorCode, description: string): never => {
    throw new AppError(code, description, { extra: { rule: code.replace(/^password_/, '') } });
  };
  // First: every listed password is shorter than 12, so after the length rule this could never fire.
  if (COMMON.has(normalized.toLowerCase())) {
    fail('password_too_common', 'this password is too common');
  }
  if (length < OPERATOR_PASSWORD_MIN_LENGTH) {
    fail('password_too_short', `at least ${OPERATOR_PASSWORD_MIN_LENGTH} characters`);
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
