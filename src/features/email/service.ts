import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { hashToken } from '../../lib/keys.ts';
import { checkPasswordPolicy, newSalt } from '../accounts/password.ts';
import { findLoginCandidate } from '../accounts/repo.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { enforce, enforceRateLimits } from '../ratelimit/enforce.ts';
import type { Authenticated, ClientInfo } from '../sessions/service.ts';
import type { TenantScope } from '../tenants/context.ts';
import { queuePasswordChangedMail, queueTokenMail } from './mails.ts';
import {
  EMAIL_VERIFY_RESEND_PER_USER,
  PASSWORD_FORGOT_PER_ACCOUNT,
  PASSWORD_FORGOT_PER_IP,
} from './policies.ts';
import {
  applyPasswordReset,
  confirmEmailToken,
  issueVerification,
  loadResetToken,
  recordResetRequest,
} from './repo.ts';
import { VERIFY_TOKEN_TTL_SECONDS, newEmailToken } from './tokens.ts';

/** A token this long or longer is not one we issued (43 base64url characters). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const INVALID_VERIFICATION = 'the verification link is not valid (used, expired or unknown)';
const INVALID_RESET = 'the reset link is not valid (used, expired or unknown)';

/**
 * Marks the address verified: one round trip (the token is checked and used, the user marked
 * verified and the event recorded in one statement). Used, expired, unknown, another tenant's,
 * or for an address the user no longer has: one answer, `invalid_verification_token`, and
 * nothing written.
 */
export async function verifyEmail(
  deps: Deps,
  scope: TenantScope,
  token: string,
  client: ClientInfo,
): Promise<void> {
  const tokenHash = await hashToken(TOKEN_SHAPE.test(token) ? token : '');
  const result = await confirmEmailToken(deps.db, scope, tokenHash, deps.clock.now(), client);
  if (result === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (result.userId === null)
    throw new AppError('invalid_verification_token', INVALID_VERIFICATION);
}

/**
 * A new verification mail for the signed-in user: two round trips (the session check; then the
 * token, replacing earlier ones, with its event). 3 an hour per user. Already verified: nothing
 * is sent and the answer says so.
 */
export async function resendVerification(
  deps: Deps,
  auth: Authenticated,
  client: ClientInfo,
): Promise<'sent' | 'already_verified'> {
  if (auth.user.emailVerified) return 'already_verified';
  await enforce(deps, EMAIL_VERIFY_RESEND_PER_USER.name, auth.user.id, {
    tenant: auth.tenant,
    client,
    actor: { type: 'user', id: auth.user.id },
  });
  const issued = await newEmailToken(deps, 'verify_email', VERIFY_TOKEN_TTL_SECONDS);
  const stored = await issueVerification(deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    issued,
    client,
    reason: 'resend',
  });
  if (!stored) return 'already_verified';
  queueTokenMail(deps, auth.tenant, auth.user.email, issued);
  return 'sent';
}

/**
 * Starts a password reset. Two round trips whatever the address: tenant and account; then one
 * statement (the token and the event for a known, enabled account; the event alone otherwise).
 * The limits (5 an hour per client address and per address) are charged between the two, before
 * any write. The caller answers 202 with one body, and the route's timing floor hides the rest;
 * the mail goes out after the answer (src/features/email/send.ts).
 */
export async function requestPasswordReset(
  deps: Deps,
  scope: TenantScope,
  input: { email: string },
  client: ClientInfo,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const candidate = await findLoginCandidate(deps.db, scope, email);
  if (candidate === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, user } = candidate;
  await enforceRateLimits(
    deps,
    [
      { policy: PASSWORD_FORGOT_PER_IP.name, subject: client.ip },
      { policy: PASSWORD_FORGOT_PER_ACCOUNT.name, subject: email },
    ],
    { tenant, client },
  );
  // A token is made either way, so both paths do the same work; only a known one is stored.
  const issued = await newEmailToken(
    deps,
    'password_reset',
    tenant.settings.mail.password_reset_ttl_seconds,
  );
  const outcome = user === null ? 'unknown_account' : user.disabled ? 'disabled' : 'issued';
  await recordResetRequest(deps.db, {
    tenantId: tenant.id,
    userId: user?.id ?? null,
    issued,
    client,
    outcome,
  });
  if (outcome === 'issued' && user !== null) queueTokenMail(deps, tenant, user.email, issued);
}

/**
 * Sets a new password with a mailed token. Two round trips: tenant, token and user; then one
 * statement that uses the token, sets the password, marks the address verified, revokes every
 * session and refresh token, clears the lockout and records `security.password.reset`. The
 * tenant's password policy applies. Used, expired, unknown or another tenant's token:
 * `invalid_reset_token`, nothing written. A "your password was changed" mail follows.
 */
export async function resetPassword(
  deps: Deps,
  scope: TenantScope,
  input: { token: string; new_password: string },
  client: ClientInfo,
): Promise<void> {
  const tokenHash = await hashToken(TOKEN_SHAPE.test(input.token) ? input.token : '');
  const loaded = await loadResetToken(deps.db, scope, tokenHash);
  if (loaded === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, token, user } = loaded;
  const now = deps.clock.now();
  if (token === null || user === null || token.used || token.expiresAt.getTime() <= now.getTime())
    throw new AppError('invalid_reset_token', INVALID_RESET);
  checkPasswordPolicy(tenant.settings.passwordPolicy, input.new_password, user.email);
  const passwordHash = await deps.passwords.hash(input.new_password, newSalt(deps.random));
  const applied = await applyPasswordReset(deps.db, {
    tenantId: tenant.id,
    tokenId: token.id,
    userId: user.id,
    passwordHash,
    now,
    client,
  });
  // A concurrent reset with the same token won, or it expired in between.
  if (!applied) throw new AppError('invalid_reset_token', INVALID_RESET);
  queuePasswordChangedMail(deps, tenant, user.email);
}
