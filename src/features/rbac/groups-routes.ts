import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../admin/pagination.ts';
import { MAX_LABEL_LENGTH } from './checks.ts';
import type { Member } from './group-links-repo.ts';
import type { Group } from './groups-repo.ts';
import {
  addGroupMember,
  createGroup,
  deleteGroup,
  getGroup,
  grantGroupRole,
  groupMembers,
  groupRoles,
  listGroups,
  removeGroupMember,
  revokeGroupRole,
  updateGroup,
  userGroups,
} from './groups-service.ts';
import { targetOf } from './http.ts';
import { roleSchema, roleView } from './roles-routes.ts';
import { MAX_DESCRIPTION_LENGTH } from './roles-service.ts';

export const groupSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  /** null: a root group. */
  parent_id: z.uuid().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
const groupName = z.string().trim().min(1).max(MAX_LABEL_LENGTH);
const description = z.string().max(MAX_DESCRIPTION_LENGTH).nullable();

export const createGroupRequestSchema = z.strictObject({
  name: groupName,
  description: description.optional(),
  parent_id: z.uuid().nullable().optional(),
});
export const updateGroupRequestSchema = z
  .strictObject({
    name: groupName.optional(),
    description: description.optional(),
    parent_id: z.uuid().nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'name, description or parent_id is required');
export const groupResponseSchema = z.object({ group: groupSchema });
export const groupListResponseSchema = pageSchema(groupSchema);
export const groupMemberSchema = z.object({
  user_id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  added_at: z.iso.datetime(),
});
export const groupMemberListResponseSchema = pageSchema(groupMemberSchema);
export const groupRoleListResponseSchema = z.object({
  items: z.array(roleSchema),
  total: z.number().int(),
});
export const userGroupListResponseSchema = z.object({
  items: z.array(groupSchema),
  total: z.number().int(),
});

export function groupView(group: Group): z.infer<typeof groupSchema> {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    parent_id: group.parentId,
    created_at: group.createdAt,
    updated_at: group.updatedAt,
  };
}

function memberView(member: Member): z.infer<typeof groupMemberSchema> {
  return {
    user_id: member.userId,
    email: member.email,
    name: member.name,
    added_at: member.addedAt,
  };
}

export const groupRoutes = new Hono<AdminEnv>();

groupRoutes.get('/tenants/:slug/groups', requireScope('users:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await listGroups(c.var.deps, targetOf(c), page);
  return c.json({ items: items.map(groupView), total, limit: page.limit, offset: page.offset });
});

groupRoutes.post('/tenants/:slug/groups', requireScope('users:write'), async (c) => {
  const input = await readJSON(c, createGroupRequestSchema);
  const group = await createGroup(c.var.deps, targetOf(c), {
    name: input.name,
    description: input.description ?? null,
    parentId: input.parent_id ?? null,
  });
  return c.json({ group: groupView(group) }, 201);
});

groupRoutes.get('/tenants/:slug/groups/:id', requireScope('users:read'), async (c) => {
  return c.json({ group: groupView(await getGroup(c.var.deps, targetOf(c), c.req.param('id'))) });
});

/** `parent_id` moves the group (null: to the root); under itself or a descendant is 409 group_cycle. */
groupRoutes.patch('/tenants/:slug/groups/:id', requireScope('users:write'), async (c) => {
  const input = await readJSON(c, updateGroupRequestSchema);
  const group = await updateGroup(c.var.deps, targetOf(c), c.req.param('id'), {
    ...(input.name === undefined ? {} : { name: input.name }),
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.parent_id === undefined ? {} : { parentId: input.parent_id }),
  });
  return c.json({ group: groupView(group) });
});

groupRoutes.delete('/tenants/:slug/groups/:id', requireScope('users:write'), async (c) => {
  await deleteGroup(c.var.deps, targetOf(c), c.req.param('id'));
  return c.json({ status: 'deleted' as const });
});

groupRoutes.get('/tenants/:slug/groups/:id/members', requireScope('users:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await groupMembers(c.var.deps, targetOf(c), c.req.param('id'), page);
  return c.json({ items: items.map(memberView), total, limit: page.limit, offset: page.offset });
});

groupRoutes.put(
  '/tenants/:slug/groups/:id/members/:userId',
  requireScope('users:write'),
  async (c) => {
    await addGroupMember(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('userId'));
    return c.json({ status: 'added' as const });
  },
);

groupRoutes.delete(
  '/tenants/:slug/groups/:id/members/:userId',
  requireScope('users:write'),
  async (c) => {
    await removeGroupMember(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('userId'));
    return c.json({ status: 'removed' as const });
  },
);

groupRoutes.get('/tenants/:slug/groups/:id/roles', requireScope('users:read'), async (c) => {
  const roles = await groupRoles(c.var.deps, targetOf(c), c.req.param('id'));
  return c.json({ items: roles.map(roleView), total: roles.length });
});

groupRoutes.put(
  '/tenants/:slug/groups/:id/roles/:roleId',
  requireScope('users:write'),
  async (c) => {
    await grantGroupRole(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('roleId'));
    return c.json({ status: 'granted' as const });
  },
);

groupRoutes.delete(
  '/tenants/:slug/groups/:id/roles/:roleId',
  requireScope('users:write'),
  async (c) => {
    await revokeGroupRole(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('roleId'));
    return c.json({ status: 'revoked' as const });
  },
);

groupRoutes.get('/tenants/:slug/users/:id/groups', requireScope('users:read'), async (c) => {
  const groups = await userGroups(c.var.deps, targetOf(c), c.req.param('id'));
  return c.json({ items: groups.map(groupView), total: groups.length });
});
