// stub: replaced by the protocol branch at merge
import type { Database } from '../../db/client.ts';

/**
 * Revokes what a user granted one client (its refresh tokens and pending codes). The protocol
 * branch owns the real statement; this placeholder does nothing so the consent API builds.
 */
export async function revokeClientGrants(
  db: Database,
  tenantId: string,
  userId: string,
  clientInternalId: string,
): Promise<void> {
  void db;
  void tenantId;
  void userId;
  void clientInternalId;
}
