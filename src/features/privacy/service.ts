import { sql } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { ClientInfo, Authenticated } from '../sessions/service.ts';
import { dropAvatar } from '../avatars/storage.ts';
import { eraseUser } from './erase-repo.ts';
import { readUserExport, type UserExport } from './export-repo.ts';
import {
  readProfileRow,
  updateProfileRow,
  type Profile,
  type ProfileChange,
} from './profile-repo.ts';

/**
 * Export and erasure need a sign-in this recent: a stolen, long-lived session cookie alone must not
 * be enough to take all of a user's data or destroy the account (OWASP ASVS 4.0 V3.7.1).
 */
export const FRESH_SIGN_IN_SECONDS = 300;

/** 403 `reauthentication_required` unless the session began within FRESH_SIGN_IN_SECONDS. */
export function requireFreshSignIn(deps: Deps, auth: Authenticated): void {
  const age = deps.clock.now().getTime() - auth.session.createdAt.getTime();
  if (age > FRESH_SIGN_IN_SECONDS * 1000) {
    throw new AppError(
      'reauthentication_required',
      `sign in again: this needs a sign-in within the last ${FRESH_SIGN_IN_SECONDS / 60} minutes`,
    );
  }
}

/** The signed-in user's profile: one round trip after the session check. */
export async function readProfile(deps: Deps, auth: Authenticated): Promise<Profile> {
  const profile = await readProfileRow(deps.db, auth.tenant.id, auth.user.id);
  if (profile === null) throw new AppError('unauthorized', 'no valid session');
  return profile;
}

/** One round trip after the session check: the change and its audit event. */
export async function updateProfile(
  deps: Deps,
  auth: Authenticated,
  change: ProfileChange,
  client: ClientInfo,
): Promise<Profile> {
  const profile = await updateProfileRow(deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    change,
    client,
    at: deps.clock.now(),
  });
  if (profile === null) throw new AppError('unauthorized', 'no valid session');
  return profile;
}

/** Everything held about the signed-in user (fresh sign-in required): one round trip. */
export async function exportOwnData(deps: Deps, auth: Authenticated): Promise<UserExport> {
  requireFreshSignIn(deps, auth);
  const data = await readUserExport(deps.db, sql`${auth.tenant.id}::uuid`, auth.user.id);
  if (data === null) throw new AppError('unauthorized', 'no valid session');
  return data;
}

/** Erases the signed-in user (fresh sign-in required): one round trip. */
export async function eraseOwnAccount(deps: Deps, auth: Authenticated): Promise<number> {
  requireFreshSignIn(deps, auth);
  const erasure = await eraseUser(deps.db, {
    tenant: sql`${auth.tenant.id}::uuid`,
    userId: auth.user.id,
    // The actor's id would be the erased user's: the event says only that a user erased themself.
    event: {
      type: 'security.user.erased',
      actor: { type: 'user', id: null },
      at: deps.clock.now(),
    },
  });
  if (!erasure.erased) throw new AppError('unauthorized', 'no valid session');
  await dropAvatar(deps, erasure.avatarKey, erasure.avatarStillUsed);
  return erasure.scrubbedEvents;
}
