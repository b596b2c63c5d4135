import type { Deps } from '../../deps.ts';
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
 * of one account, in one round trip. `wasLocked` says whether a lock was in force.
 */
export async function unlockAccount(
  deps: Deps,
  tenantId: string,
  userId: string,
): Promise<{ wasLocked: boolean }> {
  const result = await clearLoginFailures(deps.db, tenantId, userId, deps.clock.now());
  if (result.wasLocked) deps.log.info('account unlocked', { tenantId, userId });
  // audit: security.account.unlocked — recorded inside clearLoginFailures' statement (see there);
  // the admin route knows the actor (operator or API key) and must pass it down.
  return result;
}
