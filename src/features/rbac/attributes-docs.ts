import type { RouteDoc } from '../../http/openapi.ts';
import { pageQuerySchema } from '../admin/pagination.ts';
import { adminDoc, deletedSchema } from './http.ts';
import { RESERVED_CLAIMS } from './claims.ts';
import {
  attributeResponseSchema,
  attributesResponseSchema,
  claimMapperListResponseSchema,
  claimMapperResponseSchema,
  createClaimMapperRequestSchema,
  setAttributeRequestSchema,
  updateClaimMapperRequestSchema,
} from './attributes-routes.ts';

// OpenAPI entries of attributes-routes.ts, built from the schemas its handlers validate with.

const ATTRIBUTES = 'admin: user attributes';
const MAPPERS = 'admin: claim mappers';
const notFound = {
  description: '`unknown_tenant`, or no such user, attribute or claim mapper (`not_found`)',
};

export const attributeDocs: RouteDoc[] = [
  adminDoc(
    'get',
    '/tenants/:slug/users/:id/attributes',
    'users:read',
    "A user's attributes (key → string)",
    {
      responses: {
        200: { description: 'attributes', schema: attributesResponseSchema },
        404: notFound,
      },
    },
    ATTRIBUTES,
  ),
  adminDoc(
    'put',
    '/tenants/:slug/users/:id/attributes/:key',
    'users:write',
    'Set one attribute (key ^[a-z][a-z0-9_]{0,63}$, value ≤ 1 KiB)',
    {
      body: setAttributeRequestSchema,
      responses: {
        200: { description: 'set', schema: attributeResponseSchema },
        404: notFound,
        409: { description: '`limit_exceeded`: the user has the most attributes allowed (64)' },
      },
    },
    ATTRIBUTES,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/users/:id/attributes/:key',
    'users:write',
    'Delete one attribute',
    {
      responses: { 200: { description: 'deleted', schema: deletedSchema }, 404: notFound },
    },
    ATTRIBUTES,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/claim-mappers',
    'tenants:read',
    "List the tenant's claim mappers, oldest first",
    {
      query: pageQuerySchema,
      responses: {
        200: { description: 'one page of claim mappers', schema: claimMapperListResponseSchema },
      },
    },
    MAPPERS,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/claim-mappers',
    'tenants:write',
    'Map a user attribute to a token claim',
    {
      body: createClaimMapperRequestSchema,
      responses: {
        201: { description: 'created', schema: claimMapperResponseSchema },
        400: {
          description: `\`reserved_claim\`: one of ${RESERVED_CLAIMS.join(', ')}; or \`invalid_request\``,
        },
        409: {
          description: '`conflict`: the claim already has a mapper; `limit_exceeded`: 50 mappers',
        },
      },
    },
    MAPPERS,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/claim-mappers/:id',
    'tenants:read',
    'Get a claim mapper',
    {
      responses: {
        200: { description: 'the claim mapper', schema: claimMapperResponseSchema },
        404: notFound,
      },
    },
    MAPPERS,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/claim-mappers/:id',
    'tenants:write',
    'Change a claim mapper',
    {
      body: updateClaimMapperRequestSchema,
      responses: {
        200: { description: 'updated', schema: claimMapperResponseSchema },
        400: {
          description:
            '`reserved_claim`, or a mapper that would target no token (`invalid_request`)',
        },
        404: notFound,
        409: { description: '`conflict`: the claim already has a mapper' },
      },
    },
    MAPPERS,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/claim-mappers/:id',
    'tenants:write',
    'Delete a claim mapper',
    {
      responses: { 200: { description: 'deleted', schema: deletedSchema }, 404: notFound },
    },
    MAPPERS,
  ),
];
