import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { pageQuerySchema } from '../admin/pagination.ts';
import { adminDoc, deletedSchema } from './http.ts';
import {
  createGroupRequestSchema,
  groupListResponseSchema,
  groupMemberListResponseSchema,
  groupResponseSchema,
  groupRoleListResponseSchema,
  updateGroupRequestSchema,
  userGroupListResponseSchema,
} from './groups-routes.ts';

// OpenAPI entries of groups-routes.ts, built from the schemas its handlers validate with.

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
