import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../admin/pagination.ts';
import { MAX_LABEL_LENGTH } from './checks.ts';
import { targetOf } from './http.ts';
import type { Organization, OrganizationMember } from './organizations-repo.ts';
import {
  MEMBERSHIP_ROLE,
  addMember,
  changeMember,
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  organizationMembers,
  removeMember,
  renameOrganization,
} from './organizations-service.ts';

export const organizationSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  member_count: z.number().int(),
  created_at: z.iso.datetime(),
});
const organizationName = z.string().trim().min(1).max(MAX_LABEL_LENGTH);
/** What the access token's `role` claim carries while the organization is the session's active one. */
const membershipRole = z.string().regex(MEMBERSHIP_ROLE, 'must match ^[a-z][a-z0-9_-]{0,31}$');

export const createOrganizationRequestSchema = z.strictObject({ name: organizationName });
export const updateOrganizationRequestSchema = z.strictObject({ name: organizationName });
export const organizationResponseSchema = z.object({ organization: organizationSchema });
export const organizationListResponseSchema = pageSchema(organizationSchema);
export const organizationMemberSchema = z.object({
  user_id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  role: z.string(),
  joined_at: z.iso.datetime(),
});
export const organizationMemberListResponseSchema = pageSchema(organizationMemberSchema);
export const addMemberRequestSchema = z.strictObject({ user_id: z.uuid(), role: membershipRole });
export const updateMemberRequestSchema = z.strictObject({ role: membershipRole });
export const memberResponseSchema = z.object({ member: organizationMemberSchema });

export function organizationView(organization: Organization): z.infer<typeof organizationSchema> {
  return {
    id: organization.id,
    name: organization.name,
    member_count: organization.memberCount,
    created_at: organization.createdAt,
  };
}

function memberView(member: OrganizationMember): z.infer<typeof organizationMemberSchema> {
  return {
    user_id: member.userId,
    email: member.email,
    name: member.name,
    role: member.role,
    joined_at: member.joinedAt,
  };
}

export const organizationRoutes = new Hono<AdminEnv>();

organizationRoutes.get('/tenants/:slug/organizations', requireScope('users:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await listOrganizations(c.var.deps, targetOf(c), page);
  return c.json({
    items: items.map(organizationView),
    total,
    limit: page.limit,
    offset: page.offset,
  });
});

organizationRoutes.post('/tenants/:slug/organizations', requireScope('users:write'), async (c) => {
  const input = await readJSON(c, createOrganizationRequestSchema);
  return c.json(
    { organization: organizationView(await createOrganization(c.var.deps, targetOf(c), input)) },
    201,
  );
});

organizationRoutes.get(
  '/tenants/:slug/organizations/:id',
  requireScope('users:read'),
  async (c) => {
    const organization = await getOrganization(c.var.deps, targetOf(c), c.req.param('id'));
    return c.json({ organization: organizationView(organization) });
  },
);

organizationRoutes.patch(
  '/tenants/:slug/organizations/:id',
  requireScope('users:write'),
  async (c) => {
    const input = await readJSON(c, updateOrganizationRequestSchema);
    const organization = await renameOrganization(
      c.var.deps,
      targetOf(c),
      c.req.param('id'),
      input,
    );
    return c.json({ organization: organizationView(organization) });
  },
);

/** Memberships go with it; sessions that had it active continue with no organization. */
organizationRoutes.delete(
  '/tenants/:slug/organizations/:id',
  requireScope('users:write'),
  async (c) => {
    await deleteOrganization(c.var.deps, targetOf(c), c.req.param('id'));
    return c.json({ status: 'deleted' as const });
  },
);

organizationRoutes.get(
  '/tenants/:slug/organizations/:id/members',
  requireScope('users:read'),
  async (c) => {
    const page = readQuery(c, pageQuerySchema);
    const { items, total } = await organizationMembers(
      c.var.deps,
      targetOf(c),
      c.req.param('id'),
      page,
    );
    return c.json({ items: items.map(memberView), total, limit: page.limit, offset: page.offset });
  },
);

organizationRoutes.post(
  '/tenants/:slug/organizations/:id/members',
  requireScope('users:write'),
  async (c) => {
    const input = await readJSON(c, addMemberRequestSchema);
    const member = await addMember(c.var.deps, targetOf(c), c.req.param('id'), {
      userId: input.user_id,
      role: input.role,
    });
    return c.json({ member: memberView(member) }, 201);
  },
);

organizationRoutes.patch(
  '/tenants/:slug/organizations/:id/members/:userId',
  requireScope('users:write'),
  async (c) => {
    const input = await readJSON(c, updateMemberRequestSchema);
    const member = await changeMember(
      c.var.deps,
      targetOf(c),
      c.req.param('id'),
      c.req.param('userId'),
      input,
    );
    return c.json({ member: memberView(member) });
  },
);

organizationRoutes.delete(
  '/tenants/:slug/organizations/:id/members/:userId',
  requireScope('users:write'),
  async (c) => {
    await removeMember(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('userId'));
    return c.json({ status: 'removed' as const });
  },
);
