import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from '../admin/pagination.ts';
import type { ClaimMapper } from './attributes-repo.ts';
import {
  createClaimMapper,
  deleteAttribute,
  deleteClaimMapper,
  getClaimMapper,
  listClaimMappers,
  setAttribute,
  updateClaimMapper,
  userAttributes,
} from './attributes-service.ts';
import { ATTRIBUTE_KEY, CLAIM_NAME, MAX_ATTRIBUTE_VALUE_BYTES, RESERVED_CLAIMS } from './claims.ts';
import { targetOf } from './http.ts';

// Attributes belong to users (users:*); claim mappers change what every token of the tenant
// carries, so they are tenant configuration (tenants:*).

const attributeKey = z.string().regex(ATTRIBUTE_KEY, 'must match ^[a-z][a-z0-9_]{0,63}$');
const claimName = z.string().regex(CLAIM_NAME, 'must match ^[A-Za-z][A-Za-z0-9_.:/-]{0,99}$');

export const attributesResponseSchema = z.object({ attributes: z.record(z.string(), z.string()) });
export const setAttributeRequestSchema = z.strictObject({
  /** At most 1 KiB of UTF-8 (checked in bytes by the service). */
  value: z.string().max(MAX_ATTRIBUTE_VALUE_BYTES),
});
export const attributeResponseSchema = z.object({ key: z.string(), value: z.string() });

export const claimMapperSchema = z.object({
  id: z.uuid(),
  attribute_key: z.string(),
  claim_name: z.string(),
  access_token: z.boolean(),
  id_token: z.boolean(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export const createClaimMapperRequestSchema = z.strictObject({
  attribute_key: attributeKey,
  claim_name: claimName.describe(`not one of the reserved claims: ${RESERVED_CLAIMS.join(', ')}`),
  access_token: z.boolean().default(true),
  id_token: z.boolean().default(false),
});
export const updateClaimMapperRequestSchema = z
  .strictObject({
    attribute_key: attributeKey.optional(),
    claim_name: claimName.optional(),
    access_token: z.boolean().optional(),
    id_token: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'at least one field is required');
export const claimMapperResponseSchema = z.object({ claim_mapper: claimMapperSchema });
export const claimMapperListResponseSchema = pageSchema(claimMapperSchema);

export function claimMapperView(mapper: ClaimMapper): z.infer<typeof claimMapperSchema> {
  return {
    id: mapper.id,
    attribute_key: mapper.attributeKey,
    claim_name: mapper.claimName,
    access_token: mapper.accessToken,
    id_token: mapper.idToken,
    created_at: mapper.createdAt,
    updated_at: mapper.updatedAt,
  };
}

export const attributeRoutes = new Hono<AdminEnv>();

attributeRoutes.get(
  '/tenants/:slug/users/:id/attributes',
  requireScope('users:read'),
  async (c) => {
    return c.json({ attributes: await userAttributes(c.var.deps, targetOf(c), c.req.param('id')) });
  },
);

attributeRoutes.put(
  '/tenants/:slug/users/:id/attributes/:key',
  requireScope('users:write'),
  async (c) => {
    const { value } = await readJSON(c, setAttributeRequestSchema);
    const key = c.req.param('key');
    await setAttribute(c.var.deps, targetOf(c), c.req.param('id'), key, value);
    return c.json({ key, value });
  },
);

attributeRoutes.delete(
  '/tenants/:slug/users/:id/attributes/:key',
  requireScope('users:write'),
  async (c) => {
    await deleteAttribute(c.var.deps, targetOf(c), c.req.param('id'), c.req.param('key'));
    return c.json({ status: 'deleted' as const });
  },
);

attributeRoutes.get('/tenants/:slug/claim-mappers', requireScope('tenants:read'), async (c) => {
  const page = readQuery(c, pageQuerySchema);
  const { items, total } = await listClaimMappers(c.var.deps, targetOf(c), page);
  return c.json({
    items: items.map(claimMapperView),
    total,
    limit: page.limit,
    offset: page.offset,
  });
});

attributeRoutes.post('/tenants/:slug/claim-mappers', requireScope('tenants:write'), async (c) => {
  const input = await readJSON(c, createClaimMapperRequestSchema);
  const mapper = await createClaimMapper(c.var.deps, targetOf(c), {
    attributeKey: input.attribute_key,
    claimName: input.claim_name,
    accessToken: input.access_token,
    idToken: input.id_token,
  });
  return c.json({ claim_mapper: claimMapperView(mapper) }, 201);
});

attributeRoutes.get('/tenants/:slug/claim-mappers/:id', requireScope('tenants:read'), async (c) => {
  return c.json({
    claim_mapper: claimMapperView(await getClaimMapper(c.var.deps, targetOf(c), c.req.param('id'))),
  });
});

attributeRoutes.patch(
  '/tenants/:slug/claim-mappers/:id',
  requireScope('tenants:write'),
  async (c) => {
    const input = await readJSON(c, updateClaimMapperRequestSchema);
    const mapper = await updateClaimMapper(c.var.deps, targetOf(c), c.req.param('id'), {
      ...(input.attribute_key === undefined ? {} : { attributeKey: input.attribute_key }),
      ...(input.claim_name === undefined ? {} : { claimName: input.claim_name }),
      ...(input.access_token === undefined ? {} : { accessToken: input.access_token }),
      ...(input.id_token === undefined ? {} : { idToken: input.id_token }),
    });
    return c.json({ claim_mapper: claimMapperView(mapper) });
  },
);

attributeRoutes.delete(
  '/tenants/:slug/claim-mappers/:id',
  requireScope('tenants:write'),
  async (c) => {
    await deleteClaimMapper(c.var.deps, targetOf(c), c.req.param('id'));
    return c.json({ status: 'deleted' as const });
  },
);
