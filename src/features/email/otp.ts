import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { KEY_PURPOSE, deriveHMACKey } from '../../lib/keys.ts';
import { findLoginCandidate } from '../accounts/repo.ts';
import { normalizeEmail, publicUser, type SignedIn } from '../accounts/service.ts';
import {
  insertLoginSessionOrMfaToken,
  prepareMfaToken,
  type SecondFactorRequired,
} from '../mfa/login-gate.ts';
import { enforceRateLimits } from '../ratelimit/enforce.ts';
import { startSession, type ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { queueOTPMail } from './mails.ts';
import {
  OTP_MAX_ATTEMPTS,
  consumeOTP,
  findOTPCandidate,
  recordOTPFailure,
  storeOTP,
} from './otp-repo.ts';
import {
  EMAIL_OTP_REQUEST_PER_ACCOUNT,
  EMAIL_OTP_REQUEST_PER_IP,
  EMAIL_OTP_VERIFY_PER_ACCOUNT,
  EMAIL_OTP_VERIFY_PER_IP,
} from './policies.ts';

/** Ten minutes to read the mail and type the code (the figure). */
export const OTP_TTL_SECONDS = 600;

const WRONG_CODE = 'the email or code is wrong';

/** Six uniform digits: rejection sampling, so no digit string is likelier than another. */
export function generateOTP(deps: Deps): string {
  for (;;) {
    const bytes = deps.random.bytes(4);
    const value = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    // 4,294,000,000 is the largest multiple of 10^6 below 2^32.
    if (value < 4_294_000_000) return String(value % 1_000_000).padStart(6, '0');
  }
}

/** HMAC-SHA-256 (base64url) of the code, bound to the tenant and user it was issued for. */
async function otpHash(
  deps: Deps,
  tenantId: string,
  userId: string,
  code: string,
  secretKey: Uint8Array = deps.config.secretKey,
): Promise<string> {
  const key = await deriveHMACKey(secretKey, KEY_PURPOSE.emailOTP);
  const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(`${tenantId}:${userId}:${code}`));
  return encodeBase64url(new Uint8Array(mac));
}

function assertEnabled(tenant: Tenant): void {
  if (!tenant.settings.mail.otp_sign_in_enabled)
    throw new AppError('email_otp_disabled', 'sign-in with an email code is not enabled here');
}

/**
 * Mails a sign-in code. Two round trips whatever the address (tenant and account; then the code
 * and its event, or the event alone), the limits charged between them; 202 with one body, under
 * the timing floor, and the mail goes out after the answer.
 */
export async function requestEmailOTP(
  deps: Deps,
  scope: TenantScope,
  input: { email: string },
  client: ClientInfo,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const candidate = await findLoginCandidate(deps.db, scope, email);
  if (candidate === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, user } = candidate;
  assertEnabled(tenant);
  await enforceRateLimits(
    deps,
    [
      { policy: EMAIL_OTP_REQUEST_PER_IP.name, subject: client.ip },
      { policy: EMAIL_OTP_REQUEST_PER_ACCOUNT.name, subject: email },
    ],
    { tenant, client },
  );
  const code = generateOTP(deps);
  // Hashed for an unknown address too (under a throwaway id): the same work either way.
  const codeHash = await otpHash(deps, tenant.id, user?.id ?? crypto.randomUUID(), code);
  const now = deps.clock.now();
  const outcome = user === null ? 'unknown_account' : user.disabled ? 'disabled' : 'issued';
  await storeOTP(deps.db, {
    tenantId: tenant.id,
    userId: user?.id ?? null,
    codeHash,
    now,
    expiresAt: new Date(now.getTime() + OTP_TTL_SECONDS * 1000),
    client,
    outcome,
  });
  if (outcome === 'issued' && user !== null)
    queueOTPMail(deps, tenant, user.email, code, OTP_TTL_SECONDS);
}

/**
 * Signs in with a mailed code, through the same MFA gate and session statement as a password
 * login: a user with TOTP or a passkey gets the second-factor step. Two round trips (tenant,
 * account and code; then the sign-in, or the failed guess), the limits charged between them. The
 * code is compared in constant time as an HMAC; unknown address, no code, wrong, expired, used
 * or exhausted code all get one answer (`invalid_code`) under the timing floor.
 */
export async function verifyEmailOTP(
  deps: Deps,
  scope: TenantScope,
  input: { email: string; code: string },
  client: ClientInfo,
): Promise<SignedIn | SecondFactorRequired> {
  const email = normalizeEmail(input.email);
  const candidate = await findOTPCandidate(deps.db, scope, email);
  if (candidate === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, user, code } = candidate;
  assertEnabled(tenant);
  await enforceRateLimits(
    deps,
    [
      { policy: EMAIL_OTP_VERIFY_PER_IP.name, subject: client.ip },
      { policy: EMAIL_OTP_VERIFY_PER_ACCOUNT.name, subject: email },
    ],
    { tenant, client },
  );
  const typed = input.code.trim();
  const userId = user?.id ?? crypto.randomUUID();
  const digits = /^[0-9]{6}$/.test(typed) ? typed : '';
  const now = deps.clock.now();
  const stored = code?.hash ?? encodeBase64url(new Uint8Array(32));
  let hash = await otpHash(deps, tenant.id, userId, digits);
  let matches = timingSafeEqual(utf8.encode(stored), utf8.encode(hash));
  // A code mailed just before SECRET_KEY was rotated is still good for its few minutes: it is
  // checked under the previous key too (no reseal: it expires first).
  const previous = deps.config.secretKeyPrevious;
  if (!matches && previous !== null) {
    const old = await otpHash(deps, tenant.id, userId, digits, previous);
    if (timingSafeEqual(utf8.encode(stored), utf8.encode(old))) [hash, matches] = [old, true];
  }
  const reason =
    user === null
      ? 'unknown_account'
      : user.disabled
        ? 'disabled'
        : code === null || code.used
          ? 'no_code'
          : code.expiresAt.getTime() <= now.getTime()
            ? 'expired'
            : code.attempts >= OTP_MAX_ATTEMPTS
              ? 'too_many_attempts'
              : matches
                ? null
                : 'wrong_code';
  if (reason !== null || user === null) {
    await recordOTPFailure(deps.db, {
      tenantId: tenant.id,
      userId: user?.id ?? null,
      now,
      client,
      reason: reason ?? 'unknown_account',
    });
    throw new AppError('invalid_code', WRONG_CODE);
  }
  const started = await startSession(deps, tenant, user.id, client);
  const outcome = await insertLoginSessionOrMfaToken(
    deps.db,
    started.record,
    null,
    await prepareMfaToken(deps),
    { method: 'email_otp', precondition: consumeOTP(tenant.id, user.id, hash, now) },
  );
  // A concurrent request used the code first.
  if (outcome.kind === 'refused') throw new AppError('invalid_code', WRONG_CODE);
  if (outcome.kind === 'mfa') return outcome.answer;
  return {
    tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    user: publicUser({ ...user, emailVerified: true }),
    session: {
      id: started.record.id,
      created_at: started.record.now.toISOString(),
      expires_at: started.record.expiresAt.toISOString(),
      active_organization_id: outcome.activeOrganizationId,
      role: outcome.role,
    },
  };
}
