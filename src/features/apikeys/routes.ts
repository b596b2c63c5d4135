import { Hono } from 'hono';
import { z } from 'zod';
import { readJSON } from '../../http/json.ts';
import { SLUG } from '../tenants/context.ts';
import { adminActor } from '../admin/audit.ts';
import { operatorOf, requireOperator, type AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, pageSchema, pathUUID, readQuery } from '../admin/pagination.ts';
import { listAPIKeys, type APIKeyRecord } from './repo.ts';
import { SCOPES } from './scopes.ts';
import { createAPIKey, revokeAPIKeyByAdmin } from './service.ts';

export const apiKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  key_prefix: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  tenant: z.string().nullable(),
  created_by: z.uuid().nullable(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
  last_used_at: z.iso.datetime().nullable(),
  revoked_at: z.iso.datetime().nullable(),
});

export const createAPIKeyRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  /** Slug of the one tenant the key may see; omitted or null: every tenant. */
  tenant: z.string().regex(SLUG).nullable().default(null),
  expires_at: z.iso.datetime({ offset: true }).nullable().default(null),
});
export const createAPIKeyResponseSchema = z.object({ api_key: apiKeySchema, key: z.string() });
export const apiKeyListQuerySchema = pageQuerySchema;
export const apiKeyListResponseSchema = pageSchema(apiKeySchema);
export const apiKeyResponseSchema = z.object({ api_key: apiKeySchema });

export function apiKeyView(key: APIKeyRecord): z.infer<typeof apiKeySchema> {
  return {
    id: key.id,
    name: key.name,
    key_prefix: key.keyPrefix,
    scopes: key.scopes,
    tenant: key.tenantSlug,
    created_by: key.createdBy,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

/** Keys are managed by operators only: a key cannot mint or revoke keys. */
export const apiKeyRoutes = new Hono<AdminEnv>();
apiKeyRoutes.use('/api-keys', requireOperator());
apiKeyRoutes.use('/api-keys/*', requireOperator());

apiKeyRoutes.post('/api-keys', async (c) => {
  const input = await readJSON(c, createAPIKeyRequestSchema);
  const { key, record } = await createAPIKey(
    c.var.deps,
    operatorOf(c.var.admin).operator.id,
    {
      name: input.name,
      scopes: input.scopes,
      tenant: input.tenant,
      expiresAt: input.expires_at === null ? null : new Date(input.expires_at),
    },
    adminActor(c),
  );
  c.header('Cache-Control', 'no-store');
  return c.json({ api_key: apiKeyView(record), key }, 201);
});

apiKeyRoutes.get('/api-keys', async (c) => {
  const page = readQuery(c, apiKeyListQuerySchema);
  const { keys, total } = await listAPIKeys(c.var.deps.db, page);
  return c.json({ items: keys.map(apiKeyView), total, limit: page.limit, offset: page.offset });
});

apiKeyRoutes.delete('/api-keys/:id', async (c) => {
  const id = pathUUID(c.req.param('id'), 'API key');
  const record = await revokeAPIKeyByAdmin(c.var.deps, id, adminActor(c));
  return c.json({ api_key: apiKeyView(record) });
});
