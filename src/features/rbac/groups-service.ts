import { AppError } from '../../errors.ts';
import {
  assertId,
  checkLabel,
  found,
  isId,
  linked,
  unknownTenant,
  type RbacDeps,
} from './checks.ts';
import {
  changeGroupMember,
  changeGroupRole,
  listGroupMembers,
  listGroupRoles,
  listUserGroups,
  type Member,
} from './group-links-repo.ts';
import {
  deleteGroup as deleteGroupRow,
  findGroup,
  insertGroup,
  listGroups as listGroupRows,
  updateGroup as updateGroupRow,
  type Group,
  type GroupWrite,
} from './groups-repo.ts';
import type { Role } from './roles-repo.ts';
import type { Listing, Page, TenantTarget } from './sql.ts';

function written(result: GroupWrite): Group {
  if (result === 'conflict') throw new AppError('conflict', 'the tenant has a group of that name');
  if (result === 'no_parent') throw new AppError('invalid_request', 'parent_id: no such group');
  if (result === 'cycle') throw new AppError('group_cycle', 'a group cannot be its own ancestor');
  return found(result, 'group');
}

export async function listGroups(
  deps: RbacDeps,
  target: TenantTarget,
  page: Page,
): Promise<Listing<Group>> {
  const listing = await listGroupRows(deps.db, target, page);
  if (listing === null) throw unknownTenant();
  return listing;
}

export async function getGroup(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
): Promise<Group> {
  assertId(groupId, 'group');
  return found(await findGroup(deps.db, target, groupId), 'group');
}

function checkParent(parentId: string | null | undefined): void {
  if (parentId !== null && parentId !== undefined && !isId(parentId)) {
    throw new AppError('invalid_request', 'parent_id: no such group');
  }
}

export async function createGroup(
  deps: RbacDeps,
  target: TenantTarget,
  input: { name: string; description?: string | null; parentId?: string | null },
): Promise<Group> {
  checkParent(input.parentId);
  return written(
    await insertGroup(deps.db, target, {
      id: crypto.randomUUID(),
      name: checkLabel(input.name, 'name'),
      description: input.description ?? null,
      parentId: input.parentId ?? null,
      now: deps.clock.now(),
    }),
  );
}

/** Renames and/or moves; a move under itself or a descendant is `group_cycle` (409). */
export async function updateGroup(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  changes: { name?: string; description?: string | null; parentId?: string | null },
): Promise<Group> {
  assertId(groupId, 'group');
  checkParent(changes.parentId);
  if (changes.parentId === groupId)
    throw new AppError('group_cycle', 'a group cannot be its own parent');
  const name = changes.name === undefined ? undefined : checkLabel(changes.name, 'name');
  return written(
    await updateGroupRow(deps.db, target, groupId, {
      ...changes,
      ...(name === undefined ? {} : { name }),
      now: deps.clock.now(),
    }),
  );
}

export async function deleteGroup(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
): Promise<void> {
  assertId(groupId, 'group');
  const result = await deleteGroupRow(deps.db, target, groupId, deps.clock.now());
  if (result === 'has_children')
    throw new AppError('conflict', 'the group has child groups; move or delete them first');
  found(result, 'group');
}

export async function groupMembers(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  page: Page,
): Promise<Listing<Member>> {
  assertId(groupId, 'group');
  return found(await listGroupMembers(deps.db, target, groupId, page), 'group');
}

export async function addGroupMember(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  userId: string,
): Promise<void> {
  assertId(groupId, 'group');
  assertId(userId, 'user');
  const result = await changeGroupMember(deps.db, target, groupId, userId, {
    add: true,
    now: deps.clock.now(),
  });
  linked(result, { left: 'user', right: 'group' }, { mustChange: false });
}

export async function removeGroupMember(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  userId: string,
): Promise<void> {
  assertId(groupId, 'group');
  assertId(userId, 'user');
  const result = await changeGroupMember(deps.db, target, groupId, userId, {
    add: false,
    now: deps.clock.now(),
  });
  linked(result, { left: 'user', right: 'group' }, { mustChange: true });
}

export async function groupRoles(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
): Promise<Role[]> {
  assertId(groupId, 'group');
  return found(await listGroupRoles(deps.db, target, groupId), 'group');
}

export async function grantGroupRole(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  roleId: string,
): Promise<void> {
  assertId(groupId, 'group');
  assertId(roleId, 'role');
  const result = await changeGroupRole(deps.db, target, groupId, roleId, {
    grant: true,
    now: deps.clock.now(),
  });
  linked(result, { left: 'group', right: 'role' }, { mustChange: false });
}

export async function revokeGroupRole(
  deps: RbacDeps,
  target: TenantTarget,
  groupId: string,
  roleId: string,
): Promise<void> {
  assertId(groupId, 'group');
  assertId(roleId, 'role');
  const result = await changeGroupRole(deps.db, target, groupId, roleId, {
    grant: false,
    now: deps.clock.now(),
  });
  linked(result, { left: 'group', right: 'role' }, { mustChange: true });
}

export async function userGroups(
  deps: RbacDeps,
  target: TenantTarget,
  userId: string,
): Promise<Group[]> {
  assertId(userId, 'user');
  return found(await listUserGroups(deps.db, target, userId), 'user');
}
