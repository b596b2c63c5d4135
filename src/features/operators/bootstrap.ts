import type { Database } from '../../db/client.ts';
import type { Clock, Deps, Random } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { hashToken } from '../../lib/keys.ts';
import { newSalt } from '../accounts/password.ts';
import { adminEvent } from '../admin/audit.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { BOOTSTRAP_CODE_GROUPS, generateCode, isCodeShaped, normalizeCode } from './codes.ts';
import { checkOperatorPassword } from './password-policy.ts';
import { insertBootstrapCode, insertFirstOwner, type Operator } from './repo.ts';
import { enforceOperatorAuthLimits, newRecoveryCodes, type ClientInfo } from './service.ts';

/** Long enough to copy from a deploy log into a browser; short enough that a leaked log is stale. */
export const BOOTSTRAP_CODE_TTL_SECONDS = 15 * 60;

export type BootstrapCodeResult =
  | { issued: true; code: string; expiresAt: Date }
  | { issued: false; reason: 'owner_exists' }
  | { issued: false; reason: 'code_live'; expiresAt: Date };

/**
 * Issues a bootstrap code while no operator exists. The code is returned to be printed once and
 * only its SHA-256 is stored. `replace: false` (db:migrate) issues nothing while an earlier code
 * is still live; `replace: true` (the CLI command) voids earlier codes and issues a new one.
 */
export async function issueBootstrapCode(
  deps: { db: Database; clock: Clock; random: Random },
  options: { replace: boolean },
): Promise<BootstrapCodeResult> {
  const code = generateCode(deps.random, BOOTSTRAP_CODE_GROUPS);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + BOOTSTRAP_CODE_TTL_SECONDS * 1000);
  const outcome = await insertBootstrapCode(
    deps.db,
    await hashToken(normalizeCode(code)),
    now,
    expiresAt,
    options.replace,
  );
  return outcome.issued ? { issued: true, code, expiresAt: outcome.expiresAt } : outcome;
}

/** Creates the first owner with a live bootstrap code. One round trip. */
export async function completeBootstrap(
  deps: Deps,
  input: { code: string; email: string; password: string },
  client: ClientInfo,
): Promise<{ operator: Operator; recoveryCodes: string[] }> {
  const email = input.email.trim();
  checkOperatorPassword(input.password, email, {
    minLength: deps.config.operatorPasswordMinLength,
  });
  // Per address only: the email names the owner to be, not an account to protect.
  await enforceOperatorAuthLimits(deps, null, client);
  const passwordHash = await deps.passwords.hash(input.password, newSalt(deps.random));
  const { codes, hashes } = await newRecoveryCodes(deps);
  const codeHash = isCodeShaped(input.code, BOOTSTRAP_CODE_GROUPS)
    ? await hashToken(normalizeCode(input.code))
    : '';
  const now = deps.clock.now();
  const id = crypto.randomUUID();
  const outcome = await insertFirstOwner(
    deps.db,
    codeHash,
    {
      id,
      email,
      emailNormalized: normalizeEmail(email),
      passwordHash,
      recoveryCodeHashes: hashes,
      now,
    },
    adminEvent(
      { actor: { type: 'operator', id: id }, ip: client.ip, userAgent: client.userAgent, at: now },
      'security.bootstrap.used',
      null,
      { type: 'operator', id },
      { role: 'owner' },
    ),
  );
  if (!outcome.created) {
    if (outcome.ownerExists)
      throw new AppError('bootstrap_closed', 'an owner exists; bootstrap is closed');
    throw new AppError('invalid_bootstrap_code', 'the bootstrap code is wrong, used or expired');
  }
  return { operator: { id, email, role: 'owner', createdAt: now }, recoveryCodes: codes };
}
