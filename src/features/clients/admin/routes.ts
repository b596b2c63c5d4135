import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../../http/json.ts';
import { requireScope, type AdminEnv } from '../../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../../admin/pagination.ts';
import { targetOf } from '../../rbac/http.ts';
import type { OAuthClient } from '../repo.ts';
import {
  createClient,
  deleteClient,
  getClient,
  listClients,
  rotateSecret,
  updateClient,
} from './service.ts';
import {
  GRANT_TYPES,
  MAX_REDIRECT_URIS,
  MAX_SCOPES,
  MAX_URI_LENGTH,
  TTL_BOUNDS,
} from './validation.ts';

export const clientSchema = z.object({
  client_id: z.string(),
  name: z.string(),
  type: z.enum(['confidential', 'public']),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  grant_types: z.array(z.enum(GRANT_TYPES)),
  scopes: z.array(z.string()),
  first_party: z.boolean(),
  /** null: the tenant's setting applies. */
  access_token_ttl_seconds: z.number().int().nullable(),
  id_token_ttl_seconds: z.number().int().nullable(),
  refresh_token_ttl_seconds: z.number().int().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  secret_rotated_at: z.iso.datetime().nullable(),
});

const uris = z.array(z.string().max(MAX_URI_LENGTH)).max(MAX_REDIRECT_URIS);
const ttl = (bounds: { min: number; max: number }) =>
  z.number().int().min(bounds.min).max(bounds.max).nullable();

// Shapes only; the rules that need the whole registration (scheme by client type, grant/type
// combinations, production https) are in validation.ts and answer 400 invalid_request too.
const fields = {
  name: z.string().max(200),
  redirect_uris: uris,
  post_logout_redirect_uris: uris,
  grant_types: z.array(z.enum(GRANT_TYPES)).min(1).max(GRANT_TYPES.length),
  scopes: z.array(z.string().max(64)).max(MAX_SCOPES),
  first_party: z.boolean(),
  access_token_ttl_seconds: ttl(TTL_BOUNDS.access),
  id_token_ttl_seconds: ttl(TTL_BOUNDS.id),
  refresh_token_ttl_seconds: ttl(TTL_BOUNDS.refresh),
};

export const createClientRequestSchema = z.strictObject({
  name: fields.name,
  type: z.enum(['confidential', 'public']),
  redirect_uris: fields.redirect_uris.default([]),
  post_logout_redirect_uris: fields.post_logout_redirect_uris.default([]),
  grant_types: fields.grant_types.default(['authorization_code', 'refresh_token']),
  scopes: fields.scopes.default(['openid', 'profile', 'email']),
  first_party: fields.first_party.default(false),
  access_token_ttl_seconds: fields.access_token_ttl_seconds.default(null),
  id_token_ttl_seconds: fields.id_token_ttl_seconds.default(null),
  refresh_token_ttl_seconds: fields.refresh_token_ttl_seconds.default(null),
});
/** Every field but `type` (a client does not change kind: register a new one). */
export const updateClientRequestSchema = z
  .strictObject({
    name: fields.name.optional(),
    redirect_uris: fields.redirect_uris.optional(),
    post_logout_redirect_uris: fields.post_logout_redirect_uris.optional(),
    grant_types: fields.grant_types.optional(),
    scopes: fields.scopes.optional(),
    first_party: fields.first_party.optional(),
    access_token_ttl_seconds: fields.access_token_ttl_seconds.optional(),
    id_token_ttl_seconds: fields.id_token_ttl_seconds.optional(),
    refresh_token_ttl_seconds: fields.refresh_token_ttl_seconds.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'at least one field to change');

export const clientResponseSchema = z.object({ client: clientSchema });
/** The secret appears in this answer only (creation of a confidential client, rotation). */
export const clientWithSecretResponseSchema = z.object({
  client: clientSchema,
  client_secret: z.string().nullable(),
});
export const clientListResponseSchema = pageSchema(clientSchema);

export function clientView(client: OAuthClient): z.infer<typeof clientSchema> {
  return {
    client_id: client.clientId,
    name: client.name,
    type: client.type,
    redirect_uris: client.redirectURIs,
    post_logout_redirect_uris: client.postLogoutRedirectURIs,
    grant_types: client.grantTypes,
    scopes: client.scopes,
    first_party: client.firstParty,
    access_token_ttl_seconds: client.accessTokenTTLSeconds,
    id_token_ttl_seconds: client.idTokenTTLSeconds,
    refresh_token_ttl_seconds: client.refreshTokenTTLSeconds,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
    secret_rotated_at: client.secretRotatedAt?.toISOString() ?? null,
  };
}

const BASE = '/tenants/:slug/clients';

/** A tenant's OAuth clients, under /admin/api/v1 (after adminAuth and the tenant binding). */
export const clientRoutes = new Hono<AdminEnv>();

clientRoutes.get(BASE, requireScope('clients:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await listClients(c.var.deps, targetOf(c), page);
  return c.json({ items: items.map(clientView), total, limit: page.limit, offset: page.offset });
});

clientRoutes.post(BASE, requireScope('clients:write'), async (c) => {
  const input = await readJSON(c, createClientRequestSchema);
  const { client, secret } = await createClient(c.var.deps, targetOf(c), {
    type: input.type,
    name: input.name,
    redirectURIs: input.redirect_uris,
    postLogoutRedirectURIs: input.post_logout_redirect_uris,
    grantTypes: input.grant_types,
    scopes: input.scopes,
    firstParty: input.first_party,
    accessTokenTTLSeconds: input.access_token_ttl_seconds,
    idTokenTTLSeconds: input.id_token_ttl_seconds,
    refreshTokenTTLSeconds: input.refresh_token_ttl_seconds,
  });
  c.header('Cache-Control', 'no-store');
  return c.json({ client: clientView(client), client_secret: secret }, 201);
});

clientRoutes.get(`${BASE}/:client_id`, requireScope('clients:read'), async (c) => {
  const client = await getClient(c.var.deps, targetOf(c), c.req.param('client_id'));
  return c.json({ client: clientView(client) });
});

clientRoutes.patch(`${BASE}/:client_id`, requireScope('clients:write'), async (c) => {
  const input = await readJSON(c, updateClientRequestSchema);
  const client = await updateClient(c.var.deps, targetOf(c), c.req.param('client_id'), {
    name: input.name,
    redirectURIs: input.redirect_uris,
    postLogoutRedirectURIs: input.post_logout_redirect_uris,
    grantTypes: input.grant_types,
    scopes: input.scopes,
    firstParty: input.first_party,
    accessTokenTTLSeconds: input.access_token_ttl_seconds,
    idTokenTTLSeconds: input.id_token_ttl_seconds,
    refreshTokenTTLSeconds: input.refresh_token_ttl_seconds,
  });
  return c.json({ client: clientView(client) });
});

/** Also deletes the client's pending codes and every user's consent to it (cascade). */
clientRoutes.delete(`${BASE}/:client_id`, requireScope('clients:write'), async (c) => {
  await deleteClient(c.var.deps, targetOf(c), c.req.param('client_id'));
  return c.json({ status: 'deleted' as const });
});

clientRoutes.post(`${BASE}/:client_id/secret`, requireScope('clients:write'), async (c) => {
  const { client, secret } = await rotateSecret(c.var.deps, targetOf(c), c.req.param('client_id'));
  c.header('Cache-Control', 'no-store');
  return c.json({ client: clientView(client), client_secret: secret });
});
