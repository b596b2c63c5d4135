import type { RouteDoc } from '../../../http/openapi.ts';
import { pageQuerySchema } from '../../admin/pagination.ts';
import { adminDoc, deletedSchema } from '../../rbac/http.ts';
import {
  clientListResponseSchema,
  clientResponseSchema,
  clientWithSecretResponseSchema,
  createClientRequestSchema,
  updateClientRequestSchema,
} from './routes.ts';

// OpenAPI entries of routes.ts, built from the schemas its handlers validate with.

const TAG = 'admin: OAuth clients';
const notFound = { description: '`unknown_tenant`, or no such client (`not_found`)' };
const invalid = {
  description:
    '`invalid_request`: a redirect URI that is relative, has a fragment or userinfo, is over 2048 characters, plain http off the loopback in production, or a private-use scheme on a confidential client; client_credentials on a public client; a bad scope or lifetime. Nothing is written.',
};

export const clientDocs: RouteDoc[] = [
  adminDoc(
    'get',
    '/tenants/:slug/clients',
    'clients:read',
    "List the tenant's OAuth clients, oldest first",
    {
      query: pageQuerySchema,
      responses: { 200: { description: 'one page of clients', schema: clientListResponseSchema } },
    },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/clients',
    'clients:write',
    'Register an OAuth client; a confidential client gets its client_secret in this answer only',
    {
      body: createClientRequestSchema,
      responses: {
        201: {
          description: 'created (client_secret null for a public client)',
          schema: clientWithSecretResponseSchema,
        },
        400: invalid,
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/clients/:client_id',
    'clients:read',
    'Get an OAuth client (never its secret)',
    {
      responses: {
        200: { description: 'the client', schema: clientResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/clients/:client_id',
    'clients:write',
    'Change an OAuth client (any field but type; null lifetimes fall back to the tenant)',
    {
      body: updateClientRequestSchema,
      responses: {
        200: { description: 'updated', schema: clientResponseSchema },
        400: invalid,
        404: notFound,
        409: { description: '`conflict`: the client changed meanwhile; read it and retry' },
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/clients/:client_id',
    'clients:write',
    "Delete an OAuth client, its pending codes and the users' consents to it",
    { responses: { 200: { description: 'deleted', schema: deletedSchema }, 404: notFound } },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/clients/:client_id/secret',
    'clients:write',
    "Rotate a confidential client's secret: the new one is in this answer only, the old one stops working at once (no grace period)",
    {
      responses: {
        200: { description: 'the new secret', schema: clientWithSecretResponseSchema },
        400: { description: '`invalid_request`: a public client has no secret' },
        404: notFound,
      },
    },
    TAG,
  ),
];
