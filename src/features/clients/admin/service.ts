import type { Deps } from '../../../deps.ts';
import { AppError } from '../../../errors.ts';
import { encodeBase64url } from '../../../lib/encoding.ts';
import { checkLabel, found, unknownTenant } from '../../rbac/checks.ts';
import type { Listing, Page, TenantTarget } from '../../rbac/sql.ts';
import {
  deleteClient as deleteClientRow,
  findTenantClient,
  insertClient,
  listClients as listClientRows,
  rotateClientSecret,
  updateClient as updateClientRow,
  type ClientFields,
} from './repo.ts';
import { CLIENT_ID, CLIENT_ID_BYTES } from '../client-id.ts';
import { hashClientSecret, type OAuthClient } from '../repo.ts';
import type { ClientType } from '../schema.ts';
import { checkClient } from './validation.ts';

export type ClientDeps = Pick<Deps, 'db' | 'clock' | 'random' | 'config'>;

/** RFC 6749 §10.10: at least 128 bits; the secret is 256 (and only its SHA-256 is kept). */
const SECRET_BYTES = 32;

export function assertClientId(clientId: string): void {
  if (!CLIENT_ID.test(clientId)) throw new AppError('not_found', 'no such client');
}

function isProduction(deps: ClientDeps): boolean {
  return deps.config.environment === 'production';
}

export function listClients(
  deps: ClientDeps,
  target: TenantTarget,
  page: Page,
): Promise<Listing<OAuthClient>> {
  return listClientRows(deps.db, target, page).then((listing) => {
    if (listing === null) throw unknownTenant();
    return listing;
  });
}

export async function getClient(
  deps: ClientDeps,
  target: TenantTarget,
  clientId: string,
): Promise<OAuthClient> {
  assertClientId(clientId);
  return found(await findTenantClient(deps.db, target, clientId), 'client');
}

export interface CreateClientInput extends ClientFields {
  type: ClientType;
}

/**
 * Registers a client: one round trip. A confidential client's secret is returned this once;
 * only its SHA-256 is stored. Validation runs first, so a refused registration writes nothing.
 */
export async function createClient(
  deps: ClientDeps,
  target: TenantTarget,
  input: CreateClientInput,
): Promise<{ client: OAuthClient; secret: string | null }> {
  const name = checkLabel(input.name, 'name');
  checkClient(input, isProduction(deps));
  const secret =
    input.type === 'confidential' ? encodeBase64url(deps.random.bytes(SECRET_BYTES)) : null;
  const client = found(
    await insertClient(deps.db, target, {
      ...input,
      name,
      id: crypto.randomUUID(),
      clientId: encodeBase64url(deps.random.bytes(CLIENT_ID_BYTES)),
      secretHash: secret === null ? null : await hashClientSecret(secret),
      now: deps.clock.now(),
    }),
    'client',
  );
  return { client, secret };
}

export type ClientChanges = Partial<ClientFields>;

/**
 * A patch: two round trips (read, then a write conditional on the row being unchanged since),
 * because the rules hold for the merged registration (a public client may not gain
 * client_credentials, a code grant needs a redirect URI). A concurrent patch gives 409 conflict.
 */
export async function updateClient(
  deps: ClientDeps,
  target: TenantTarget,
  clientId: string,
  changes: ClientChanges,
): Promise<OAuthClient> {
  assertClientId(clientId);
  const current = found(await findTenantClient(deps.db, target, clientId), 'client');
  const defined = Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined),
  ) as ClientChanges;
  const merged: ClientFields = {
    name: current.name,
    redirectURIs: current.redirectURIs,
    postLogoutRedirectURIs: current.postLogoutRedirectURIs,
    grantTypes: current.grantTypes,
    scopes: current.scopes,
    firstParty: current.firstParty,
    accessTokenTTLSeconds: current.accessTokenTTLSeconds,
    idTokenTTLSeconds: current.idTokenTTLSeconds,
    refreshTokenTTLSeconds: current.refreshTokenTTLSeconds,
    ...defined,
  };
  merged.name = checkLabel(merged.name, 'name');
  checkClient({ ...merged, type: current.type }, isProduction(deps));
  const result = await updateClientRow(
    deps.db,
    target,
    current,
    merged,
    Object.keys(defined).map(snakeCase),
    deps.clock.now(),
  );
  if (result === 'stale')
    throw new AppError('conflict', 'the client changed or was deleted meanwhile; read it again');
  return result;
}

function snakeCase(name: string): string {
  return name
    .replace(/URIs/g, 'Uris')
    .replace(/TTL/g, 'Ttl')
    .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export async function deleteClient(
  deps: ClientDeps,
  target: TenantTarget,
  clientId: string,
): Promise<void> {
  assertClientId(clientId);
  found(await deleteClientRow(deps.db, target, clientId, deps.clock.now()), 'client');
}

/**
 * A new secret, shown once. The old one stops verifying with this write, no grace period: a
 * leaked secret is dead the moment it is rotated. The price: the relying party fails client
 * authentication until it has the new secret (a grace period would need a second hash column).
 */
export async function rotateSecret(
  deps: ClientDeps,
  target: TenantTarget,
  clientId: string,
): Promise<{ client: OAuthClient; secret: string }> {
  assertClientId(clientId);
  const secret = encodeBase64url(deps.random.bytes(SECRET_BYTES));
  const result = found(
    await rotateClientSecret(
      deps.db,
      target,
      clientId,
      await hashClientSecret(secret),
      deps.clock.now(),
    ),
    'client',
  );
  if (result === 'public')
    throw new AppError('invalid_request', 'a public client has no secret to rotate');
  return { client: result, secret };
}
