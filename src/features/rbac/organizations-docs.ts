import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { pageQuerySchema } from '../admin/pagination.ts';
import { adminDoc, deletedSchema } from './http.ts';
import {
  addMemberRequestSchema,
  createOrganizationRequestSchema,
  memberResponseSchema,
  organizationListResponseSchema,
  organizationMemberListResponseSchema,
  organizationResponseSchema,
  updateMemberRequestSchema,
  updateOrganizationRequestSchema,
} from './organizations-routes.ts';

// OpenAPI entries of organizations-routes.ts, built from the schemas its handlers validate with.

const TAG = 'admin: organizations';
const notFound = {
  description: '`unknown_tenant`, or no such organization, user or membership (`not_found`)',
};

export const organizationDocs: RouteDoc[] = [
  adminDoc(
    'get',
    '/tenants/:slug/organizations',
    'users:read',
    "List the tenant's organizations, oldest first",
    {
      query: pageQuerySchema,
      responses: {
        200: { description: 'one page of organizations', schema: organizationListResponseSchema },
      },
    },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/organizations',
    'users:write',
    'Create an organization (with no members)',
    {
      body: createOrganizationRequestSchema,
      responses: { 201: { description: 'created', schema: organizationResponseSchema } },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/organizations/:id',
    'users:read',
    'Get an organization',
    {
      responses: {
        200: { description: 'the organization', schema: organizationResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/organizations/:id',
    'users:write',
    'Rename an organization',
    {
      body: updateOrganizationRequestSchema,
      responses: {
        200: { description: 'renamed', schema: organizationResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/organizations/:id',
    'users:write',
    'Delete an organization and its memberships',
    {
      responses: { 200: { description: 'deleted', schema: deletedSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/organizations/:id/members',
    'users:read',
    "List an organization's members, oldest first",
    {
      query: pageQuerySchema,
      responses: {
        200: { description: 'one page of members', schema: organizationMemberListResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/organizations/:id/members',
    'users:write',
    'Add a user to an organization with a role',
    {
      body: addMemberRequestSchema,
      responses: {
        201: { description: 'added', schema: memberResponseSchema },
        404: notFound,
        409: { description: '`conflict`: the user is already a member' },
      },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/organizations/:id/members/:userId',
    'users:write',
    "Change a member's role",
    {
      body: updateMemberRequestSchema,
      responses: { 200: { description: 'changed', schema: memberResponseSchema }, 404: notFound },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/organizations/:id/members/:userId',
    'users:write',
    'Remove a member',
    {
      responses: {
        200: { description: 'removed', schema: z.object({ status: z.literal('removed') }) },
        404: notFound,
      },
    },
    TAG,
  ),
];
