import { AppError } from '../../errors.ts';
import {
  deleteClaimMapper as deleteMapperRow,
  deleteUserAttribute,
  findClaimMapper,
  insertClaimMapper,
  listClaimMappers as listMapperRows,
  listUserAttributes,
  setUserAttribute,
  updateClaimMapper as updateMapperRow,
  type ClaimMapper,
} from './attributes-repo.ts';
import { assertId, found, unknownTenant, type RbacDeps } from './checks.ts';
import {
  ATTRIBUTE_KEY,
  CLAIM_NAME,
  MAX_ATTRIBUTES_PER_USER,
  MAX_ATTRIBUTE_VALUE_BYTES,
  MAX_CLAIM_MAPPERS,
  RESERVED_CLAIMS,
  isReservedClaim,
} from './claims.ts';
import type { Listing, Page, TenantTarget } from './sql.ts';

function checkKey(key: string): void {
  if (!ATTRIBUTE_KEY.test(key))
    throw new AppError('invalid_request', 'attribute keys must match ^[a-z][a-z0-9_]{0,63}$');
}

function checkClaimName(name: string): void {
  if (!CLAIM_NAME.test(name)) {
    throw new AppError(
      'invalid_request',
      'claim names must match ^[A-Za-z][A-Za-z0-9_.:/-]{0,99}$',
    );
  }
  if (isReservedClaim(name)) {
    throw new AppError(
      'reserved_claim',
      `the service sets this claim itself; reserved: ${RESERVED_CLAIMS.join(', ')}`,
    );
  }
}

export async function userAttributes(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
): Promise<Record<string, string>> {
  assertId(userId, 'user');
  return found(await listUserAttributes(deps.db, target, userId), 'user');
}

export async function setAttribute(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
  key: string,
  value: string,
): Promise<void> {
  assertId(userId, 'user');
  checkKey(key);
  if (new TextEncoder().encode(value).byteLength > MAX_ATTRIBUTE_VALUE_BYTES) {
    throw new AppError(
      'invalid_request',
      `value: at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes (UTF-8)`,
    );
  }
  const result = await setUserAttribute(deps.db, target, userId, {
    key,
    value,
    now: deps.clock.now(),
  });
  if (result === 'limit') {
    throw new AppError(
      'limit_exceeded',
      `a user has at most ${MAX_ATTRIBUTES_PER_USER} attributes`,
    );
  }
  found(result, 'user');
}

export async function deleteAttribute(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
  key: string,
): Promise<void> {
  assertId(userId, 'user');
  if (!ATTRIBUTE_KEY.test(key)) throw new AppError('not_found', 'no such attribute');
  const result = found(
    await deleteUserAttribute(deps.db, target, userId, key, deps.clock.now()),
    'user',
  );
  if (!result.userFound) throw new AppError('not_found', 'no such user');
  if (!result.deleted) throw new AppError('not_found', 'no such attribute');
}

export async function listClaimMappers(
  deps: RbacDeps,
  target: TenantTarget,
  page: Page,
): Promise<Listing<ClaimMapper>> {
  const listing = await listMapperRows(deps.db, target, page);
  if (listing === null) throw unknownTenant();
  return listing;
}

export async function getClaimMapper(
  deps: RbacDeps,
  target: TenantTarget,
  mapperId: string,
): Promise<ClaimMapper> {
  assertId(mapperId, 'claim mapper');
  return found(await findClaimMapper(deps.db, target, mapperId), 'claim mapper');
}

export interface ClaimMapperInput {
  attributeKey: string;
  claimName: string;
  accessToken: boolean;
  idToken: boolean;
}

export async function createClaimMapper(
  deps: RbacDeps,
  target: TenantTarget,
  input: ClaimMapperInput,
): Promise<ClaimMapper> {
  checkKey(input.attributeKey);
  checkClaimName(input.claimName);
  if (!input.accessToken && !input.idToken) {
    throw new AppError(
      'invalid_request',
      'a claim mapper must target the access token, the ID token or both',
    );
  }
  const result = await insertClaimMapper(deps.db, target, {
    id: crypto.randomUUID(),
    ...input,
    now: deps.clock.now(),
  });
  if (result === 'conflict')
    throw new AppError('conflict', 'the tenant already maps an attribute to that claim');
  if (result === 'limit')
    throw new AppError('limit_exceeded', `a tenant has at most ${MAX_CLAIM_MAPPERS} claim mappers`);
  return found(result, 'claim mapper');
}

export async function updateClaimMapper(
  deps: RbacDeps,
  target: TenantTarget,
  mapperId: string,
  changes: Partial<ClaimMapperInput>,
): Promise<ClaimMapper> {
  assertId(mapperId, 'claim mapper');
  if (changes.attributeKey !== undefined) checkKey(changes.attributeKey);
  if (changes.claimName !== undefined) checkClaimName(changes.claimName);
  const result = await updateMapperRow(deps.db, target, mapperId, {
    ...changes,
    now: deps.clock.now(),
  });
  if (result === 'conflict')
    throw new AppError('conflict', 'the tenant already maps an attribute to that claim');
  if (result === 'no_target') {
    throw new AppError(
      'invalid_request',
      'a claim mapper must target the access token, the ID token or both',
    );
  }
  return found(result, 'claim mapper');
}

export async function deleteClaimMapper(
  deps: RbacDeps,
  target: TenantTarget,
  mapperId: string,
): Promise<void> {
  assertId(mapperId, 'claim mapper');
  found(await deleteMapperRow(deps.db, target, mapperId, deps.clock.now()), 'claim mapper');
}
