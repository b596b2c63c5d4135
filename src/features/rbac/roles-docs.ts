import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { pageQuerySchema } from '../admin/pagination.ts';
import { adminDoc, deletedSchema } from './http.ts';
import {
  createRoleRequestSchema,
  roleListResponseSchema,
  roleResponseSchema,
  updateRoleRequestSchema,
  userRolesResponseSchema,
} from './roles-routes.ts';

// OpenAPI entries of roles-routes.ts, built from the schemas its handlers validate with.

const TAG = 'admin: roles and groups';
const notFound = { description: '`unknown_tenant`, or no such role or user (`not_found`)' };

export const roleDocs: RouteDoc[] = [
  adminDoc(
    'get',
    '/tenants/:slug/roles',
    'users:read',
    "List the tenant's roles, oldest first",
    {
      query: pageQuerySchema,
      responses: { 200: { description: 'one page of roles', schema: roleListResponseSchema } },
    },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/roles',
    'users:write',
    'Create a role (name unique in the tenant)',
    {
      body: createRoleRequestSchema,
      responses: {
        201: { description: 'created', schema: roleResponseSchema },
        409: { description: '`conflict`: the tenant has a role of that name' },
      },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/roles/:id',
    'users:read',
    'Get a role',
    {
      responses: { 200: { description: 'the role', schema: roleResponseSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/roles/:id',
    'users:write',
    'Rename a role or change its description',
    {
      body: updateRoleRequestSchema,
      responses: {
        200: { description: 'updated', schema: roleResponseSchema },
        404: notFound,
        409: { description: '`conflict`: the tenant has a role of that name' },
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/roles/:id',
    'users:write',
    'Delete a role, and every assignment of it',
    {
      responses: { 200: { description: 'deleted', schema: deletedSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/users/:id/roles',
    'users:read',
    "A user's direct roles, effective roles and mapped claims",
    {
      responses: { 200: { description: 'roles', schema: userRolesResponseSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'put',
    '/tenants/:slug/users/:id/roles/:roleId',
    'users:write',
    'Assign a role to a user (idempotent)',
    {
      responses: {
        200: { description: 'assigned', schema: z.object({ status: z.literal('assigned') }) },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/users/:id/roles/:roleId',
    'users:write',
    'Remove a role from a user',
    {
      responses: {
        200: { description: 'removed', schema: z.object({ status: z.literal('removed') }) },
        404: { description: 'no such user or role, or the user does not have it (`not_found`)' },
      },
    },
    TAG,
  ),
];
