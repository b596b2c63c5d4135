import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { newSalt } from '../accounts/password.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { adminEvent, type AdminActor } from '../admin/audit.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { enforce, enforceRateLimits } from '../ratelimit/enforce.ts';
import {
  OPERATOR_AUTH_PER_ACCOUNT,
  OPERATOR_AUTH_PER_IP,
  OPERATOR_RECOVERY_CODES_REGENERATE,
} from '../ratelimit/policies.ts';
import {
  RECOVERY_CODE_COUNT,
  RECOVERY_CODE_GROUPS,
  generateCode,
  isCodeShaped,
  normalizeCode,
} from './codes.ts';
import { checkOperatorPassword } from './password-policy.ts';
import {
  OPERATOR_SESSION_ABSOLUTE_SECONDS,
  OPERATOR_SESSION_IDLE_SECONDS,
  findOperatorByEmail,
  insertOperator,
  insertOperatorSession,
  loadOperatorSession,
  recoverWithCode,
  replaceOperatorPassword,
  replaceRecoveryCodes,
  type Operator,
  type OperatorSession,
  withoutHash,
  type OperatorWithHash,
} from './repo.ts';
import type { OperatorRole } from './schema.ts';

export interface AuthenticatedOperator {
  operator: OperatorWithHash;
  session: OperatorSession;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** Ten fresh codes and their hashes; the codes are shown once and never stored. */
export async function newRecoveryCodes(
  deps: Pick<Deps, 'random'>,
): Promise<{ codes: string[]; hashes: string[] }> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    generateCode(deps.random, RECOVERY_CODE_GROUPS),
  );
  const hashes = await Promise.all(codes.map((code) => hashToken(normalizeCode(code))));
  return { codes, hashes };
}

export async function authenticateOperator(
  deps: Deps,
  token: string | undefined,
): Promise<AuthenticatedOperator> {
  if (token === undefined || token === '')
    throw new AppError('unauthorized', 'sign in or send an API key');
  const loaded = await loadOperatorSession(deps.db, await hashToken(token), deps.clock.now());
  if (loaded === null) throw new AppError('unauthorized', 'no valid operator session');
  return loaded;
}

const INVALID_CREDENTIALS = 'the email or password is wrong';

/**
 * Charges the operator credential budgets (per address, and per account when one is named)
 * before any hash or write. Deployment-wide counters: operators belong to no tenant.
 */
export async function enforceOperatorAuthLimits(
  deps: Deps,
  email: string | null,
  client: ClientInfo,
): Promise<void> {
  await enforceRateLimits(
    deps,
    [
      { policy: OPERATOR_AUTH_PER_IP.name, subject: client.ip },
      ...(email === null
        ? []
        : [{ policy: OPERATOR_AUTH_PER_ACCOUNT.name, subject: normalizeEmail(email) }]),
    ],
    { tenant: null, client },
  );
}

/**
 * Two round trips; unknown email and wrong password cost the same hash, the same audit write
 * and get one answer. Rate-limited per address and per account before the lookup.
 */
export async function loginOperator(
  deps: Deps,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<{ operator: Operator; token: string; expiresAt: Date; sessionId: string }> {
  await enforceOperatorAuthLimits(deps, input.email, client);
  const operator = await findOperatorByEmail(deps.db, normalizeEmail(input.email));
  const verdict = await deps.passwords.verify(operator?.passwordHash ?? null, input.password);
  const now = deps.clock.now();
  if (operator === null || !verdict.ok) {
    // The reason is recorded in the deployment's audit chain, never returned.
    await recordAuditEvent(deps.db, {
      tenantId: null,
      type: 'security.operator.login.failed',
      actor: { type: 'anonymous' },
      target: { type: 'operator', id: operator?.id ?? null },
      ip: client.ip,
      userAgent: client.userAgent,
      details: { reason: operator === null ? 'unknown_account' : 'wrong_password' },
      at: now,
    });
    throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  }
  const token = encodeBase64url(deps.random.bytes(32));
  const expiresAt = new Date(now.getTime() + OPERATOR_SESSION_ABSOLUTE_SECONDS * 1000);
  const sessionId = crypto.randomUUID();
  await insertOperatorSession(
    deps.db,
    {
      id: sessionId,
      operatorId: operator.id,
      tokenHash: await hashToken(token),
      ip: client.ip,
      userAgent: client.userAgent,
      now,
      idleExpiresAt: new Date(now.getTime() + OPERATOR_SESSION_IDLE_SECONDS * 1000),
      expiresAt,
    },
    adminEvent(
      {
        actor: { type: 'operator', id: operator.id },
        ip: client.ip,
        userAgent: client.userAgent,
        at: now,
      },
      'admin.operator.login',
      null,
      { type: 'operator_session', id: sessionId },
    ),
  );
  return { operator: withoutHash(operator), token, expiresAt, sessionId };
}

export async function changeOperatorPassword(
  deps: Deps,
  auth: AuthenticatedOperator,
  input: { current_password: string; new_password: string },
  by: AdminActor,
): Promise<void> {
  const verdict = await deps.passwords.verify(auth.operator.passwordHash, input.current_password);
  if (!verdict.ok) throw new AppError('invalid_credentials', 'the current password is wrong');
  checkOperatorPassword(input.new_password, auth.operator.email, {
    minLength: deps.config.operatorPasswordMinLength,
  });
  const hash = await deps.passwords.hash(input.new_password, newSalt(deps.random));
  const event = adminEvent(by, 'admin.operator.password_changed', null, {
    type: 'operator',
    id: auth.operator.id,
  });
  await replaceOperatorPassword(deps.db, auth.operator.id, hash, auth.session.id, by.at, event);
}

/** New recovery codes replace all earlier ones; the current password is required. */
export async function regenerateRecoveryCodes(
  deps: Deps,
  auth: AuthenticatedOperator,
  currentPassword: string,
  by: AdminActor,
): Promise<string[]> {
  // Before the hash: 3 sets an hour per operator, however many are asked for.
  await enforce(deps, OPERATOR_RECOVERY_CODES_REGENERATE.name, auth.operator.id, {
    actor: { type: 'operator', id: auth.operator.id },
  });
  const verdict = await deps.passwords.verify(auth.operator.passwordHash, currentPassword);
  if (!verdict.ok) throw new AppError('invalid_credentials', 'the current password is wrong');
  const { codes, hashes } = await newRecoveryCodes(deps);
  const event = adminEvent(by, 'admin.operator.recovery_codes_regenerated', null, {
    type: 'operator',
    id: auth.operator.id,
  });
  await replaceRecoveryCodes(deps.db, auth.operator.id, hashes, by.at, event);
  return codes;
}

/**
 * Resets a password with a recovery code. The new password is hashed before the code is checked,
 * so a wrong code costs the same time as a right one.
 */
export async function recoverOperator(
  deps: Deps,
  input: { email: string; recovery_code: string; new_password: string },
  client: ClientInfo,
): Promise<void> {
  checkOperatorPassword(input.new_password, input.email.trim(), {
    minLength: deps.config.operatorPasswordMinLength,
  });
  await enforceOperatorAuthLimits(deps, input.email, client);
  const hash = await deps.passwords.hash(input.new_password, newSalt(deps.random));
  const now = deps.clock.now();
  // The actor (the operator the code belongs to) is filled in by the statement.
  const event = adminEvent(
    { actor: { type: 'operator', id: null }, ip: client.ip, userAgent: client.userAgent, at: now },
    'security.recovery_code.used',
    null,
    { type: 'operator', id: null },
    { sessions_revoked: 'all', remaining_codes_invalidated: true },
  );
  const codeHash = isCodeShaped(input.recovery_code, RECOVERY_CODE_GROUPS)
    ? await hashToken(normalizeCode(input.recovery_code))
    : '';
  const recovered =
    codeHash !== '' &&
    (await recoverWithCode(deps.db, normalizeEmail(input.email), codeHash, hash, now, event));
  if (!recovered) throw new AppError('invalid_credentials', 'the email or recovery code is wrong');
}

export async function createOperator(
  deps: Deps,
  input: { email: string; password: string; role: OperatorRole },
  by: AdminActor,
): Promise<{ operator: Operator; recoveryCodes: string[] }> {
  const email = input.email.trim();
  checkOperatorPassword(input.password, email, {
    minLength: deps.config.operatorPasswordMinLength,
  });
  const passwordHash = await deps.passwords.hash(input.password, newSalt(deps.random));
  const { codes, hashes } = await newRecoveryCodes(deps);
  const operator = await insertOperator(
    deps.db,
    {
      id: crypto.randomUUID(),
      email,
      emailNormalized: normalizeEmail(email),
      passwordHash,
      role: input.role,
      recoveryCodeHashes: hashes,
      now: by.at,
    },
    adminEvent(
      by,
      'admin.operator.created',
      null,
      { type: 'operator', id: null },
      { role: input.role },
    ),
  );
  if (operator === null) throw new AppError('email_taken', 'an operator with this email exists');
  return { operator, recoveryCodes: codes };
}
