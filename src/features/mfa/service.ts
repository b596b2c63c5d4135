import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { rootKeysOf } from '../../env.ts';
import { KEY_PURPOSE, deriveAESKey, hashToken, openWithRootKeys, seal } from '../../lib/keys.ts';
import { utf8 } from '../../lib/encoding.ts';
import { publicUser, type SignedIn } from '../accounts/service.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { startSession, type Authenticated, type ClientInfo } from '../sessions/service.ts';
import type { Tenant, TenantScope } from '../tenants/context.ts';
import { MFA_CHALLENGE_PER_ACCOUNT, RECOVERY_CODES_REGENERATE_PER_USER } from './policies.ts';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  looksLikeRecoveryCode,
} from './recovery-codes.ts';
import {
  activateTOTP,
  completeChallenge,
  deleteTOTP,
  loadFactorState,
  loadMfaToken,
  recordChallengeFailure,
  replaceRecoveryCodes,
  upsertPendingTOTP,
  type LoadedMfaToken,
  type SessionOutcome,
} from './repo.ts';
import { readMfaSettings } from './settings.ts';
import { TOTP_SECRET_BYTES, encodeTOTPSecret, matchTOTP, totpProvisioning } from './totp.ts';

/** The TOTP secret's envelope is bound to its tenant and user: moved to another row, it fails. */
function secretContext(tenantId: string, userId: string): string {
  return `mfa-totp:${tenantId}:${userId}`;
}

async function sealSecret(
  deps: Deps,
  tenantId: string,
  userId: string,
  secret: Uint8Array,
): Promise<string> {
  const key = await deriveAESKey(deps.config.secretKey, KEY_PURPOSE.secretEncryption);
  return seal(key, secret, secretContext(tenantId, userId));
}

async function openSecret(
  deps: Deps,
  tenantId: string,
  userId: string,
  sealed: string,
): Promise<Uint8Array> {
  const context = secretContext(tenantId, userId);
  return openWithRootKeys(rootKeysOf(deps.config), KEY_PURPOSE.secretEncryption, sealed, context);
}

/** Who is enrolling: the signed-in user, or one holding an `enroll` MFA token (policy requires). */
export type EnrolSubject =
  | { kind: 'session'; auth: Authenticated }
  | {
      kind: 'token';
      loaded: LoadedMfaToken & {
        token: NonNullable<LoadedMfaToken['token']>;
        user: NonNullable<LoadedMfaToken['user']>;
      };
    };

/** Loads an MFA token that is live (unexpired, unused, of an enabled user); 401 otherwise. */
export async function loadLiveMfaToken(
  deps: Deps,
  scope: TenantScope,
  token: string,
  purpose: 'challenge' | 'enroll',
) {
  const loaded = await loadMfaToken(deps.db, scope, await hashToken(token));
  if (loaded === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { token: row, user } = loaded;
  if (row === null || user === null || row.used || user.disabled || row.purpose !== purpose) {
    throw new AppError('invalid_mfa_token', 'the MFA token is not valid');
  }
  if (row.expiresAt.getTime() <= deps.clock.now().getTime()) {
    throw new AppError('invalid_mfa_token', 'the MFA token has expired; sign in again');
  }
  return { ...loaded, token: row, user };
}

function subjectIds(subject: EnrolSubject): { tenant: Tenant; userId: string; email: string } {
  return subject.kind === 'session'
    ? { tenant: subject.auth.tenant, userId: subject.auth.user.id, email: subject.auth.user.email }
    : {
        tenant: subject.loaded.tenant,
        userId: subject.loaded.user.id,
        email: subject.loaded.user.email,
      };
}

export interface TOTPEnrolment {
  secret: string;
  otpauthURI: string;
  qrSVG: string;
}

/** A new pending secret (replacing an unconfirmed one); 409 when TOTP is already on. */
export async function enrollTOTP(deps: Deps, subject: EnrolSubject): Promise<TOTPEnrolment> {
  const { tenant, userId, email } = subjectIds(subject);
  const secret = deps.random.bytes(TOTP_SECRET_BYTES);
  const stored = await upsertPendingTOTP(
    deps.db,
    tenant.id,
    userId,
    await sealSecret(deps, tenant.id, userId, secret),
    deps.clock.now(),
  );
  if (!stored) throw new AppError('conflict', 'TOTP is already enabled; disable it first');
  const { uri, qrSVG } = totpProvisioning(tenant.name, email, secret);
  return { secret: encodeTOTPSecret(secret), otpauthURI: uri, qrSVG };
}

export interface TOTPActivated {
  recoveryCodes: string[] | null;
  signedIn: SignedIn | null;
}

/** Confirms the pending secret with a first code; the first factor also gets recovery codes. */
export async function verifyTOTPEnrolment(
  deps: Deps,
  subject: EnrolSubject,
  code: string,
  client: ClientInfo,
): Promise<TOTPActivated> {
  const { tenant, userId } = subjectIds(subject);
  const totp =
    subject.kind === 'token'
      ? subject.loaded.totp
      : (await loadFactorState(deps.db, tenant.id, userId)).totp;
  if (totp === null || totp.confirmed)
    throw new AppError('mfa_not_enrolled', 'start TOTP enrolment first');
  const now = deps.clock.now();
  const step = matchTOTP(await openSecret(deps, tenant.id, userId, totp.sealed), code.trim(), now);
  if (step === null) throw new AppError('invalid_code', 'the code is wrong or has expired');
  const codes = generateRecoveryCodes(deps.random);
  const started =
    subject.kind === 'token' ? await startSession(deps, tenant, userId, client) : null;
  const result = await activateTOTP(deps.db, {
    tenantId: tenant.id,
    userId,
    step,
    now,
    recoveryHashes: await Promise.all(codes.map(hashRecoveryCode)),
    client,
    viaToken:
      subject.kind === 'token' && started !== null
        ? { tokenId: subject.loaded.token.id, session: started.record }
        : null,
  });
  if (!result.activated) {
    throw subject.kind === 'token'
      ? new AppError('invalid_mfa_token', 'the MFA token is not valid')
      : new AppError('mfa_not_enrolled', 'start TOTP enrolment first');
  }
  const signedIn =
    subject.kind === 'token' && started !== null && result.session !== null
      ? signedInFrom(subject.loaded, started, result.session)
      : null;
  return { recoveryCodes: result.codesStored > 0 ? codes : null, signedIn };
}

function signedInFrom(
  loaded: LoadedMfaToken & { user: NonNullable<LoadedMfaToken['user']> },
  started: Awaited<ReturnType<typeof startSession>>,
  outcome: SessionOutcome,
): SignedIn {
  return {
    tenant: loaded.tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    user: publicUser(loaded.user),
    session: {
      id: started.record.id,
      created_at: started.record.now.toISOString(),
      expires_at: started.record.expiresAt.toISOString(),
      active_organization_id: outcome.activeOrganizationId,
      role: outcome.role,
    },
  };
}

/**
 * The second step of a login: a TOTP code or a recovery code against the MFA token. Two round
 * trips (token and factors; then session or failure), plus one Redis round trip for the limit.
 */
export async function completeMfaChallenge(
  deps: Deps,
  scope: TenantScope,
  input: { mfa_token: string; code: string },
  client: ClientInfo,
): Promise<SignedIn & { recoveryCodeUsed: boolean }> {
  const loaded = await loadLiveMfaToken(deps, scope, input.mfa_token, 'challenge');
  const { tenant, user } = loaded;
  const now = deps.clock.now();
  if (loaded.lockedUntil !== null && loaded.lockedUntil.getTime() > now.getTime()) {
    const seconds = Math.ceil((loaded.lockedUntil.getTime() - now.getTime()) / 1000);
    throw new AppError('factor_locked', 'too many wrong codes; try again later', {
      headers: { 'Retry-After': String(seconds) },
    });
  }
  await enforce(deps, MFA_CHALLENGE_PER_ACCOUNT.name, user.id, { tenant, client });
  const code = input.code.trim();
  let step: number | null = null;
  let recoveryCodeId: string | null = null;
  let failure: 'wrong_code' | 'replayed_code' | null = 'wrong_code';
  if (loaded.totp?.confirmed === true && /^[0-9]{6}$/.test(code)) {
    step = matchTOTP(await openSecret(deps, tenant.id, user.id, loaded.totp.sealed), code, now);
    if (step !== null) {
      const replay = loaded.totp.lastUsedStep !== null && step <= loaded.totp.lastUsedStep;
      failure = replay ? 'replayed_code' : null;
    }
  } else if (looksLikeRecoveryCode(code)) {
    const hash = utf8.encode(await hashRecoveryCode(code));
    for (const candidate of loaded.recoveryCodes) {
      if (timingSafeEqual(utf8.encode(candidate.hash), hash)) recoveryCodeId = candidate.id;
    }
    if (recoveryCodeId !== null) failure = null;
  }
  if (failure !== null) {
    const { lockedUntil } = await recordChallengeFailure(deps.db, {
      tenantId: tenant.id,
      userId: user.id,
      now,
      lockSeconds: tenant.settings.lockout.durationSeconds,
      client,
      reason: failure,
    });
    if (failure === 'replayed_code')
      throw new AppError('code_reused', 'this code was already used; wait for the next one');
    if (lockedUntil !== null && lockedUntil.getTime() > now.getTime()) {
      const seconds = Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000);
      throw new AppError('factor_locked', 'too many wrong codes; try again later', {
        headers: { 'Retry-After': String(seconds) },
      });
    }
    throw new AppError('invalid_code', 'the code is wrong');
  }
  const started = await startSession(deps, tenant, user.id, client);
  const outcome = await completeChallenge(deps.db, {
    tokenId: loaded.token.id,
    tenantId: tenant.id,
    userId: user.id,
    step,
    recoveryCodeId,
    session: started.record,
    client,
  });
  // A concurrent request used the token, the step or the code first.
  if (outcome === null)
    throw step === null
      ? new AppError('invalid_code', 'the code is wrong')
      : new AppError('code_reused', 'this code was already used');
  return { ...signedInFrom(loaded, started, outcome), recoveryCodeUsed: recoveryCodeId !== null };
}

/** Turns TOTP off, with a current code or the account password. */
export async function disableTOTP(
  deps: Deps,
  auth: Authenticated,
  input: { code?: string | undefined; password?: string | undefined },
  client: ClientInfo,
): Promise<void> {
  const state = await loadFactorState(deps.db, auth.tenant.id, auth.user.id);
  if (state.totp === null || !state.totp.confirmed)
    throw new AppError('mfa_not_enrolled', 'TOTP is not enabled');
  await proveFactorOrPassword(deps, auth, state.totp, input);
  const deleted = await deleteTOTP(deps.db, auth.tenant.id, auth.user.id, deps.clock.now(), client);
  if (!deleted) throw new AppError('mfa_not_enrolled', 'TOTP is not enabled');
}

/** A current TOTP code (not a replay) or the password; returns the step a code used. */
async function proveFactorOrPassword(
  deps: Deps,
  auth: Authenticated,
  totp: { sealed: string; confirmed: boolean; lastUsedStep: number | null } | null,
  input: { code?: string | undefined; password?: string | undefined },
): Promise<number | null> {
  if (input.code !== undefined && totp !== null && totp.confirmed) {
    const step = matchTOTP(
      await openSecret(deps, auth.tenant.id, auth.user.id, totp.sealed),
      input.code.trim(),
      deps.clock.now(),
    );
    if (step === null) throw new AppError('invalid_code', 'the code is wrong');
    if (totp.lastUsedStep !== null && step <= totp.lastUsedStep)
      throw new AppError('code_reused', 'this code was already used');
    return step;
  }
  if (input.password !== undefined) {
    const verdict = await deps.passwords.verify(auth.user.passwordHash, input.password);
    if (!verdict.ok) throw new AppError('invalid_credentials', 'the password is wrong');
    return null;
  }
  throw new AppError('invalid_request', 'send a current code or the password');
}

/**
 * A new set of ten recovery codes, invalidating the old: needs a current TOTP code, or the
 * password for a user whose only factor is a passkey.
 */
export async function regenerateRecoveryCodes(
  deps: Deps,
  auth: Authenticated,
  input: { code?: string | undefined; password?: string | undefined },
  client: ClientInfo,
): Promise<string[]> {
  // Charged before any work: a stolen session cannot churn codes (3 an hour per user).
  await enforce(deps, RECOVERY_CODES_REGENERATE_PER_USER.name, auth.user.id, {
    tenant: auth.tenant,
    client,
    actor: { type: 'user', id: auth.user.id },
  });
  const state = await loadFactorState(deps.db, auth.tenant.id, auth.user.id);
  const hasTOTP = state.totp?.confirmed === true;
  if (!hasTOTP && state.passkeys === 0)
    throw new AppError('mfa_not_enrolled', 'enrol a second factor first');
  if (hasTOTP && input.code === undefined)
    throw new AppError('invalid_request', 'send a current code');
  const step = await proveFactorOrPassword(
    deps,
    auth,
    hasTOTP ? state.totp : null,
    hasTOTP ? { code: input.code } : input,
  );
  const codes = generateRecoveryCodes(deps.random);
  const stored = await replaceRecoveryCodes(deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    hashes: await Promise.all(codes.map(hashRecoveryCode)),
    now: deps.clock.now(),
    client,
    step,
  });
  if (!stored) throw new AppError('code_reused', 'this code was already used');
  return codes;
}

export interface MfaStatus {
  policy: string;
  totp: { enabled: boolean };
  passkeys: number;
  recovery_codes: { remaining: number };
}

export async function mfaStatus(deps: Deps, auth: Authenticated): Promise<MfaStatus> {
  const state = await loadFactorState(deps.db, auth.tenant.id, auth.user.id);
  return {
    policy: readMfaSettings(state.settings).mfa.policy,
    totp: { enabled: state.totp?.confirmed === true },
    passkeys: state.passkeys,
    recovery_codes: { remaining: state.recoveryCodesLeft },
  };
}
