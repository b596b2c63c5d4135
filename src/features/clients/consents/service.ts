import type { Deps } from '../../../deps.ts';
import { AppError } from '../../../errors.ts';
import { revokeClientGrants } from '../../oidc/token-repo.ts';
import type { ClientInfo } from '../../sessions/service.ts';
import { deleteConsent, listConsents, type Consent } from './repo.ts';
import { CLIENT_ID } from '../client-id.ts';

/** The signed-in user, by session cookie or bearer access token. */
export interface ConsentUser {
  tenantId: string;
  userId: string;
}

export function userConsents(deps: Pick<Deps, 'db'>, user: ConsentUser): Promise<Consent[]> {
  return listConsents(deps.db, user.tenantId, user.userId);
}

/**
 * The user withdraws a client's access: the consent row goes (with its audit event, in one
 * statement), then the client's grants for this user (refresh tokens, pending codes) are
 * revoked. Idempotent: a client the user never consented to (a first-party one, or a consent
 * already withdrawn) still has its grants revoked and answers success, so a retry after a failed
 * grant revocation completes it. 404 only for a client the tenant does not have.
 * Round trips: one, plus revokeClientGrants' own.
 */
export async function revokeConsent(
  deps: Pick<Deps, 'db' | 'clock'>,
  user: ConsentUser,
  clientId: string,
  client: ClientInfo,
): Promise<{ removed: boolean }> {
  if (!CLIENT_ID.test(clientId)) throw new AppError('not_found', 'no such client');
  const result = await deleteConsent(deps.db, user.tenantId, user.userId, clientId, {
    type: 'oauth.consent.revoked',
    actor: { type: 'user', id: user.userId },
    target: { type: 'oauth_client', id: null },
    ip: client.ip,
    userAgent: client.userAgent,
    details: { client_id: clientId },
    at: deps.clock.now(),
  });
  if (result.clientInternalId === null) throw new AppError('not_found', 'no such client');
  await revokeClientGrants(
    deps.db,
    user.tenantId,
    user.userId,
    result.clientInternalId,
    deps.clock.now(),
  );
  return { removed: result.removed };
}
