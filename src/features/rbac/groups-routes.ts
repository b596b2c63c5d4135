import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import type { RouteDoc } from '../../http/openapi.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../admin/pagination.ts';
import { MAX_LABEL_LENGTH } from './checks.ts';
import type { Group, Member } from './groups-repo.ts';
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
import { adminDoc, deletedSchema, targetOf } from './http.ts';
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

const TAG = 'admin: roles and groups';
const notFound = { description: '`unknown_tenant`, or no such group, user or role (`not_found`)' };
const status = (value: string) => z.object({ status: z.literal(value) });

export const groupDocs: RouteDoc[] = [
  adminDoc(
    'get',
    '/tenants/:slug/groups',
    'users:read',
    "List the tenant's groups, oldest first",
    {
      query: pageQuerySchema,
      responses: { 200: { description: 'one page of groups', schema: groupListResponseSchema } },
    },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/groups',
    'users:write',
    'Create a group, at the root or under a parent',
    {
      body: createGroupRequestSchema,
      responses: {
        201: { description: 'created', schema: groupResponseSchema },
        400: {
          description: '`invalid_request`, also for a parent that is not a group of the tenant',
        },
        409: { description: '`conflict`: the tenant has a group of that name' },
      },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/groups/:id',
    'users:read',
    'Get a group',
    {
      responses: { 200: { description: 'the group', schema: groupResponseSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/groups/:id',
    'users:write',
    'Rename, describe or move a group',
    {
      body: updateGroupRequestSchema,
      responses: {
        200: { description: 'updated', schema: groupResponseSchema },
        404: notFound,
        409: {
          description:
            '`group_cycle`: the new parent is the group or a descendant; `conflict`: name taken',
        },
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/groups/:id',
    'users:write',
    'Delete a group with no child groups',
    {
      responses: {
        200: { description: 'deleted', schema: deletedSchema },
        404: notFound,
        409: { description: '`conflict`: the group has child groups' },
      },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/groups/:id/members',
    'users:read',
    "List a group's direct members, oldest first",
    {
      query: pageQuerySchema,
      responses: {
        200: { description: 'one page of members', schema: groupMemberListResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'put',
    '/tenants/:slug/groups/:id/members/:userId',
    'users:write',
    'Add a user to a group (idempotent)',
    {
      responses: { 200: { description: 'added', schema: status('added') }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/groups/:id/members/:userId',
    'users:write',
    'Remove a user from a group',
    {
      responses: { 200: { description: 'removed', schema: status('removed') }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/groups/:id/roles',
    'users:read',
    'Roles granted to a group (members and members of descendants get them)',
    {
      responses: {
        200: { description: 'roles', schema: groupRoleListResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'put',
    '/tenants/:slug/groups/:id/roles/:roleId',
    'users:write',
    'Grant a role to a group (idempotent)',
    {
      responses: { 200: { description: 'granted', schema: status('granted') }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/groups/:id/roles/:roleId',
    'users:write',
    'Revoke a role from a group',
    {
      responses: { 200: { description: 'revoked', schema: status('revoked') }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/users/:id/groups',
    'users:read',
    'Groups a user is directly in',
    {
      responses: {
        200: { description: 'groups', schema: userGroupListResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
];
