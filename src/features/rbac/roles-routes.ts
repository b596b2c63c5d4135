import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../admin/pagination.ts';
import type { Role } from './roles-repo.ts';
import {
  MAX_DESCRIPTION_LENGTH,
  ROLE_NAME,
  assignRole,
  createRole,
  deleteRole,
  getRole,
  listRoles,
  removeRole,
  updateRole,
  userRoles,
} from './roles-service.ts';
import { targetOf } from './http.ts';

export const roleSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
const roleName = z.string().regex(ROLE_NAME, 'must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$');
const description = z.string().max(MAX_DESCRIPTION_LENGTH).nullable();

export const createRoleRequestSchema = z.strictObject({
  name: roleName,
  description: description.optional(),
});
export const updateRoleRequestSchema = z
  .strictObject({ name: roleName.optional(), description: description.optional() })
  .refine((body) => Object.keys(body).length > 0, 'name or description is required');
export const roleResponseSchema = z.object({ role: roleSchema });
export const roleListResponseSchema = pageSchema(roleSchema);
export const userRolesResponseSchema = z.object({
  /** Assigned to the user directly. */
  roles: z.array(roleSchema),
  /** What the user's next access token carries: direct roles and those of their groups and ancestors. */
  effective_roles: z.array(z.string()),
  /** The mapped claims the user's next access token carries. */
  token_claims: z.record(z.string(), z.string()),
});

export function roleView(role: Role): z.infer<typeof roleSchema> {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    created_at: role.createdAt,
    updated_at: role.updatedAt,
  };
}

export const roleRoutes = new Hono<AdminEnv>();

roleRoutes.get('/tenants/:slug/roles', requireScope('users:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await listRoles(c.var.deps, targetOf(c), page);
  return c.json({ items: items.map(roleView), total, limit: page.limit, offset: page.offset });
});

roleRoutes.post('/tenants/:slug/roles', requireScope('users:write'), async (c) => {
  const input = await readJSON(c, createRoleRequestSchema);
  return c.json({ role: roleView(await createRole(c.var.deps, targetOf(c), input)) }, 201);
});

roleRoutes.get('/tenants/:slug/roles/:id', requireScope('users:read'), async (c) => {
  return c.json({ role: roleView(await getRole(c.var.deps, targetOf(c), c.req.param('id'))) });
});

roleRoutes.patch('/tenants/:slug/roles/:id', requireScope('users:write'), async (c) => {
  const input = await readJSON(c, updateRoleRequestSchema);
  return c.json({
    role: roleView(await updateRole(c.var.deps, targetOf(c), c.req.param('id'), input)),
  });
});

/** Also removes the role from every user and group that had it. */
roleRoutes.delete('/tenants/:slug/roles/:id', requireScope('users:write'), async (c) => {
  await deleteRole(c.var.deps, targetOf(c), c.req.param('id'));
  return c.json({ status: 'deleted' as const });
});

roleRoutes.get('/tenants/:slug/users/:id/roles', requireScope('users:read'), async (c) => {
  const found = await userRoles(c.var.deps, targetOf(c), c.req.param('id'));
  return c.json({
    roles: found.direct.map(roleView),
    effective_roles: found.effective.roles,
    token_claims: found.effective.claims,
  });
});

/** Idempotent: assigning a role the user has is a success that changes nothing. */
roleRoutes.put('/tenants/:slug/users/:id/roles/:roleId', requireScope('users:write'), async (c) => {
  await assignRole(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('roleId'));
  return c.json({ status: 'assigned' as const });
});

roleRoutes.delete(
  '/tenants/:slug/users/:id/roles/:roleId',
  requireScope('users:write'),
  async (c) => {
    await removeRole(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('roleId'));
    return c.json({ status: 'removed' as const });
  },
);
