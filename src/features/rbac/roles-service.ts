import { AppError } from '../../errors.ts';
import { assertId, found, linked, unknownTenant, type RbacDeps } from './checks.ts';
import {
  assignUserRole,
  deleteRole as deleteRoleRow,
  findRole,
  insertRole,
  listRoles as listRoleRows,
  listUserRoles,
  removeUserRole,
  updateRole as updateRoleRow,
  type Role,
  type UserRoles,
} from './roles-repo.ts';
import type { Listing, Page, TenantTarget } from './sql.ts';

/** Role names travel in every access token: short identifiers, no spaces. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const MAX_DESCRIPTION_LENGTH = 500;

function checkName(name: string): void {
  if (!ROLE_NAME.test(name))
    throw new AppError('invalid_request', 'name must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$');
}

export async function listRoles(
  deps: RbacDeps,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Role>> {
  const listing = await listRoleRows(deps.db, target, page);
  if (listing === null) throw unknownTenant();
  return listing;
}

export async function getRole(deps: RbacDeps, target: TenantTarget, roleId: string): Promise<Role> {
  assertId(roleId, 'role');
  return found(await findRole(deps.db, target, roleId), 'role');
}

export async function createRole(
  deps: RbacDeps,
  target: TenantTarget,
  input: { name: string; description?: string | null },
): Promise<Role> {
  checkName(input.name);
  const result = await insertRole(deps.db, target, {
    id: crypto.randomUUID(),
    name: input.name,
    description: input.description ?? null,
    now: deps.clock.now(),
  });
  if (result === 'conflict') throw new AppError('conflict', 'the tenant has a role of that name');
  return found(result, 'role');
}

export async function updateRole(
  deps: RbacDeps,
  target: TenantTarget,
  roleId: string,
  changes: { name?: string; description?: string | null },
): Promise<Role> {
  assertId(roleId, 'role');
  if (changes.name !== undefined) checkName(changes.name);
  const result = await updateRoleRow(deps.db, target, roleId, {
    ...changes,
    now: deps.clock.now(),
  });
  if (result === 'conflict') throw new AppError('conflict', 'the tenant has a role of that name');
  return found(result, 'role');
}

export async function deleteRole(
  deps: RbacDeps,
  target: TenantTarget,
  roleId: string,
): Promise<void> {
  assertId(roleId, 'role');
  found(await deleteRoleRow(deps.db, target, roleId, deps.clock.now()), 'role');
}

export async function assignRole(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
  roleId: string,
): Promise<void> {
  assertId(userId, 'user');
  assertId(roleId, 'role');
  const result = await assignUserRole(deps.db, target, userId, roleId, deps.clock.now());
  linked(result, { left: 'user', right: 'role' }, { mustChange: false });
}

export async function removeRole(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
  roleId: string,
): Promise<void> {
  assertId(userId, 'user');
  assertId(roleId, 'role');
  const result = await removeUserRole(deps.db, target, userId, roleId, deps.clock.now());
  linked(result, { left: 'user', right: 'role' }, { mustChange: true });
}

/** Direct roles, and what the user's next access token carries (effective roles, mapped claims). */
export async function userRoles(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
): Promise<UserRoles> {
  assertId(userId, 'user');
  return found(await listUserRoles(deps.db, target, userId), 'user');
}
