import { AppError } from '../../errors.ts';
import { assertId, checkLabel, found, isId, unknownTenant, type RbacDeps } from './checks.ts';
import {
  addOrganizationMember,
  changeMemberRole,
  deleteOrganization as deleteOrganizationRow,
  findOrganization,
  insertOrganization,
  listOrganizationMembers,
  listOrganizations as listOrganizationRows,
  removeOrganizationMember,
  renameOrganization as renameOrganizationRow,
  type MembershipWrite,
  type Organization,
  type OrganizationMember,
} from './organizations-repo.ts';
import type { Listing, Page, TenantTarget } from './sql.ts';

/** A membership role is what the access token's `role` claim carries: a short identifier. */
export const MEMBERSHIP_ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

function checkRole(role: string): void {
  if (!MEMBERSHIP_ROLE.test(role))
    throw new AppError('invalid_request', 'role must match ^[a-z][a-z0-9_-]{0,31}$');
}

export async function listOrganizations(
  deps: RbacDeps,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Organization>> {
  const listing = await listOrganizationRows(deps.db, target, page);
  if (listing === null) throw unknownTenant();
  return listing;
}

export async function getOrganization(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
): Promise<Organization> {
  assertId(organizationId, 'organization');
  return found(await findOrganization(deps.db, target, organizationId), 'organization');
}

export async function createOrganization(
  deps: RbacDeps,
  target: TenantTarget,
  input: { name: string },
): Promise<Organization> {
  const name = checkLabel(input.name, 'name');
  return found(
    await insertOrganization(deps.db, target, {
      id: crypto.randomUUID(),
      name,
      now: deps.clock.now(),
    }),
    'organization',
  );
}

export async function renameOrganization(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
  input: { name: string },
): Promise<Organization> {
  assertId(organizationId, 'organization');
  const name = checkLabel(input.name, 'name');
  return found(
    await renameOrganizationRow(deps.db, target, organizationId, name, deps.clock.now()),
    'organization',
  );
}

export async function deleteOrganization(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
): Promise<void> {
  assertId(organizationId, 'organization');
  found(
    await deleteOrganizationRow(deps.db, target, organizationId, deps.clock.now()),
    'organization',
  );
}

export async function organizationMembers(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
  page: Page,
): Promise<Listing<OrganizationMember>> {
  assertId(organizationId, 'organization');
  return found(
    await listOrganizationMembers(deps.db, target, organizationId, page),
    'organization',
  );
}

function membership(
  result: MembershipWrite,
  options: { missing: () => AppError },
): OrganizationMember {
  if (!result.tenant) throw unknownTenant();
  if (!result.organizationFound) throw new AppError('not_found', 'no such organization');
  if (!result.userFound) throw new AppError('not_found', 'no such user');
  if (result.member === null) throw options.missing();
  return result.member;
}

/** Adds a user to an organization with a role; 409 if they already are a member. */
export async function addMember(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
  input: { userId: string; role: string },
): Promise<OrganizationMember> {
  assertId(organizationId, 'organization');
  checkRole(input.role);
  // A malformed user id in a body is bad input, not a missing path segment.
  if (!isId(input.userId)) {
    throw new AppError('invalid_request', 'user_id must be a user id');
  }
  const result = await addOrganizationMember(deps.db, target, organizationId, {
    ...input,
    now: deps.clock.now(),
  });
  return membership(result, {
    missing: () => new AppError('conflict', 'the user is already a member'),
  });
}

export async function changeMember(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
  userId: string,
  input: { role: string },
): Promise<OrganizationMember> {
  assertId(organizationId, 'organization');
  assertId(userId, 'user');
  checkRole(input.role);
  const result = await changeMemberRole(
    deps.db,
    target,
    organizationId,
    userId,
    input.role,
    deps.clock.now(),
  );
  return membership(result, {
    missing: () => new AppError('not_found', 'the user is not a member'),
  });
}

export async function removeMember(
  deps: RbacDeps,
  target: TenantTarget,
  organizationId: string,
  userId: string,
): Promise<void> {
  assertId(organizationId, 'organization');
  assertId(userId, 'user');
  const result = await removeOrganizationMember(
    deps.db,
    target,
    organizationId,
    userId,
    deps.clock.now(),
  );
  membership(result, { missing: () => new AppError('not_found', 'the user is not a member') });
}
