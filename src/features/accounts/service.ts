import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { startSession, type Authenticated, type ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { findTenant } from '../tenants/repo.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { recordLoginFailure, type LoginFailureReason } from '../lockout/repo.ts';
import { isAccountLocked } from '../lockout/service.ts';
import { issueVerification } from '../email/repo.ts';
import { queueTokenMail } from '../email/mails.ts';
import { EMAIL_VERIFY_RESEND_PER_USER } from '../email/policies.ts';
import { VERIFY_TOKEN_TTL_SECONDS, newEmailToken } from '../email/tokens.ts';
import { enforce, enforceRateLimits } from '../ratelimit/enforce.ts';
import { LOGIN_PER_ACCOUNT, LOGIN_PER_IP, REGISTER_PER_IP } from '../ratelimit/policies.ts';
import {
  insertLoginSessionOrMfaToken,
  prepareMfaToken,
  type SecondFactorRequired,
} from '../mfa/login-gate.ts';
import { checkPasswordPolicy, newSalt } from './password.ts';
import {
  findLoginCandidate,
  insertAccount,
  listMemberships,
  replacePassword,
  switchOrganization,
  type Membership,
} from './repo.ts';

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  created_at: string;
}

export interface SignedIn {
  tenant: Tenant;
  token: string;
  expiresAt: Date;
  user: PublicUser;
  session: {
    id: string;
    created_at: string;
    expires_at: string;
    active_organization_id: string | null;
    role: string | null;
  };
}

/** Trimmed and lower-cased: how emails are compared and kept unique. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface RegisterInput {
  email: string;
  password: string;
  name?: string | undefined;
  organization_name?: string | undefined;
}

/** A sign-up in a tenant that requires a verified address: the account, no session yet. */
export interface RegisteredUnverified {
  tenant: Tenant;
  user: PublicUser;
  verificationRequired: true;
}

/**
 * Two round trips: the tenant's settings, then user, organization, session and verification
 * token in one statement; the verification mail is queued (a subrequest, not a round trip). With
 * `emailVerificationRequired` no session is started: the user signs in after verifying.
 */
export async function register(
  deps: Deps,
  scope: TenantScope,
  input: RegisterInput,
  client: ClientInfo,
): Promise<SignedIn | RegisteredUnverified> {
  const tenant = await findTenant(deps.db, scope);
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (!tenant.settings.registrationEnabled)
    throw new AppError('registration_closed', 'registration is closed');
  const email = input.email.trim();
  checkPasswordPolicy(tenant.settings.passwordPolicy, input.password, email);
  // Before the hash and the write it protects; a refused password costs no counter.
  await enforceRateLimits(deps, [{ policy: REGISTER_PER_IP.name, subject: client.ip }], {
    tenant,
    client,
  });
  const passwordHash = await deps.passwords.hash(input.password, newSalt(deps.random));
  const userId = crypto.randomUUID();
  const started = await startSession(deps, tenant, userId, client);
  const organization =
    input.organization_name === undefined
      ? null
      : { id: crypto.randomUUID(), name: input.organization_name };
  const verification = await newEmailToken(deps, 'verify_email', VERIFY_TOKEN_TTL_SECONDS);
  const startNow = !tenant.settings.emailVerificationRequired;
  const created = await insertAccount(deps.db, {
    userId,
    email,
    emailNormalized: normalizeEmail(email),
    name: input.name ?? null,
    passwordHash,
    organization,
    session: started.record,
    startSession: startNow,
    verification,
  });
  if (created === null) throw new AppError('email_taken', 'an account with this email exists');
  queueTokenMail(deps, tenant, email, verification);
  const user: PublicUser = {
    id: userId,
    email,
    name: input.name ?? null,
    email_verified: false,
    created_at: created.createdAt.toISOString(),
  };
  if (!startNow) return { tenant, user, verificationRequired: true };
  return {
    tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    user,
    session: {
      id: started.record.id,
      created_at: started.record.now.toISOString(),
      expires_at: started.record.expiresAt.toISOString(),
      active_organization_id: organization?.id ?? null,
      role: organization === null ? null : 'owner',
    },
  };
}

const INVALID_CREDENTIALS = 'the email or password is wrong';

/**
 * Two round trips: tenant, account and lockout; then the session, or the failure record. Unknown
 * email, wrong password, disabled and locked account get the same answer after the same single
 * hash, so neither the body nor the work done says which (the route's timing floor evens out the
 * rest). Rate limits (per IP, per account) are charged before the hash.
 */
export async function login(
  deps: Deps,
  scope: TenantScope,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<SignedIn | SecondFactorRequired> {
  const email = normalizeEmail(input.email);
  const candidate = await findLoginCandidate(deps.db, scope, email);
  if (candidate === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { tenant, user } = candidate;
  await enforceRateLimits(
    deps,
    [
      { policy: LOGIN_PER_IP.name, subject: client.ip },
      { policy: LOGIN_PER_ACCOUNT.name, subject: email },
    ],
    { tenant, client },
  );
  const verdict = await deps.passwords.verify(user?.passwordHash ?? null, input.password);
  const now = deps.clock.now();
  const locked = user !== null && isAccountLocked(tenant.settings.lockout, user.lockedUntil, now);
  if (user === null || !verdict.ok || user.disabled || locked) {
    // The reason is recorded in the audit log and nowhere else: the answer is the same for all.
    const reason: LoginFailureReason =
      user === null
        ? 'unknown_account'
        : user.disabled
          ? 'disabled'
          : locked
            ? 'locked'
            : 'wrong_password';
    deps.metrics.loginFailed(reason);
    const audit = { reason, ip: client.ip, userAgent: client.userAgent };
    if (user === null) {
      await recordAuditEvent(deps.db, {
        tenantId: tenant.id,
        type: 'security.login.failed',
        actor: { type: 'anonymous' },
        target: { type: 'email', id: email },
        ip: client.ip,
        userAgent: client.userAgent,
        details: { reason },
        at: now,
      });
    } else {
      const { lockedNow } = await recordLoginFailure(
        deps.db,
        tenant.id,
        user.id,
        tenant.settings.lockout,
        now,
        audit,
      );
      if (lockedNow) {
        deps.log.warn('account locked after failed logins', {
          tenantSlug: tenant.slug,
          userId: user.id,
        });
      }
    }
    throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  }
  if (tenant.settings.emailVerificationRequired && !user.emailVerified) {
    // Only a caller who knows the password learns this, so it says nothing about who exists.
    await refuseUnverified(deps, tenant, user, client);
  }
  const upgraded = verdict.needsRehash
    ? await deps.passwords.hash(input.password, newSalt(deps.random))
    : null;
  const started = await startSession(deps, tenant, user.id, client);
  // A user with a second factor (or whom the tenant's MFA policy requires to enrol one) gets an
  // MFA token instead of a session, decided inside the same statement (src/features/mfa/login-gate.ts).
  const outcome = await insertLoginSessionOrMfaToken(
    deps.db,
    started.record,
    upgraded,
    await prepareMfaToken(deps),
  );
  if (outcome.kind === 'mfa') return outcome.answer;
  if (outcome.kind === 'refused') throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  const { activeOrganizationId, role } = outcome;
  return {
    tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    user: publicUser(user),
    session: {
      id: started.record.id,
      created_at: started.record.now.toISOString(),
      expires_at: started.record.expiresAt.toISOString(),
      active_organization_id: activeOrganizationId,
      role,
    },
  };
}

/**
 * The answer to a right password for an unverified address when the tenant requires one: 403
 * `email_not_verified`, no session. A fresh verification mail goes out (at most 3 an hour per
 * user), so users who signed up before the tenant turned the requirement on can get verified
 * without being signed in. The mail and its token cost the login's second round trip.
 */
async function refuseUnverified(
  deps: Deps,
  tenant: Tenant,
  user: { id: string; email: string },
  client: ClientInfo,
): Promise<never> {
  let mailed = false;
  try {
    await enforce(deps, EMAIL_VERIFY_RESEND_PER_USER.name, user.id, { tenant, client });
    const issued = await newEmailToken(deps, 'verify_email', VERIFY_TOKEN_TTL_SECONDS);
    mailed = await issueVerification(deps.db, {
      tenantId: tenant.id,
      userId: user.id,
      issued,
      client,
      reason: 'sign_in_refused',
    });
    if (mailed) queueTokenMail(deps, tenant, user.email, issued);
  } catch (error) {
    // Over the resend limit: still the same refusal, just no new mail.
    if (!(error instanceof AppError && error.code === 'rate_limited')) throw error;
  }
  throw new AppError('email_not_verified', 'verify your email address before signing in', {
    extra: { verification_sent: mailed },
  });
}

export function publicUser(user: {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  createdAt: Date;
}): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.emailVerified,
    created_at: user.createdAt.toISOString(),
  };
}

export async function changePassword(
  deps: Deps,
  auth: Authenticated,
  input: { current_password: string; new_password: string },
  client: ClientInfo,
): Promise<void> {
  const verdict = await deps.passwords.verify(auth.user.passwordHash, input.current_password);
  if (!verdict.ok) throw new AppError('invalid_credentials', 'the current password is wrong');
  checkPasswordPolicy(auth.tenant.settings.passwordPolicy, input.new_password, auth.user.email);
  const hash = await deps.passwords.hash(input.new_password, newSalt(deps.random));
  await replacePassword(
    deps.db,
    auth.tenant.id,
    auth.user.id,
    hash,
    auth.session.id,
    deps.clock.now(),
    client,
  );
}

export function organizations(deps: Deps, auth: Authenticated): Promise<Membership[]> {
  return listMemberships(deps.db, auth.tenant.id, auth.user.id);
}

export async function switchActiveOrganization(
  deps: Deps,
  auth: Authenticated,
  organizationId: string,
): Promise<string> {
  const role = await switchOrganization(deps.db, auth.session.id, auth.user.id, organizationId);
  if (role === null) throw new AppError('not_found', 'not a member of that organization');
  return role;
}
