import type { Deps } from '../../deps.ts';
import type { ActorType } from '../audit/events.ts';
import { clearLoginFailures, isLockoutEnabled, type LockoutSettings } from './repo.ts';

/** Whether the tenant's lockout holds the account now. A tenant that turns lockout off frees everyone. */
export function isAccountLocked(
  settings: LockoutSettings,
  lockedUntil: Date | null,
  now: Date,
): boolean {
  return (
    isLockoutEnabled(settings) && lockedUntil !== null && lockedUntil.getTime() > now.getTime()
  );
}

/**
 * For operators and tenant admins (the admin API): lifts a lockout and resets the failure count
 * of one account, in one round trip. `wasLocked` says whether a lock was in force; null when the
 * id is not a user of this tenant.
 */
export async function unlockAccount(
  deps: Deps,
  tenantId: string,
  userId: string,
  actor: { type: ActorType; id: string | null },
): Promise<{ wasLocked: boolean } | null> {
  // security.account.unlocked is recorded inside the same statement when a lock was lifted.
  const result = await clearLoginFailures(deps.db, tenantId, userId, deps.clock.now(), actor);
  if (result?.wasLocked) deps.log.info('account unlocked', { tenantId, userId });
  return result;
}
