import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { SLUG } from '../tenants/context.ts';
import { retireSigningKey } from '../tokens/rotation.ts';
import { adminActor, adminEvent } from './audit.ts';
import {
  createTenantByAdmin,
  rotateSigningKeyByAdmin,
  unknownTenant,
  updateTenantByAdmin,
} from './tenants-service.ts';
import { requireScope, type AdminEnv } from './auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from './pagination.ts';
import {
  settingsView,
  tenantSettingsPatchSchema,
  tenantSettingsViewSchema,
} from './tenant-settings.ts';
import {
  deleteTenant,
  getTenant,
  listSigningKeys,
  listTenants,
  type AdminTenant,
} from './tenants-repo.ts';

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

const hostnames = z.array(z.string().toLowerCase().regex(HOSTNAME, 'must be a hostname')).max(50);
const corsOrigins = z.array(z.string().max(2048)).max(100);

export const tenantSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  settings: tenantSettingsViewSchema,
  cors_origins: z.array(z.string()),
  hostnames: z.array(z.string()),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export const tenantResponseSchema = z.object({ tenant: tenantSchema });

export const createTenantRequestSchema = z.strictObject({
  slug: z.string().regex(SLUG, 'must match ^[a-z0-9][a-z0-9-]{1,49}$'),
  name: z.string().trim().min(1).max(200),
  settings: tenantSettingsPatchSchema.default({}),
  cors_origins: corsOrigins.default([]),
  hostnames: hostnames.default([]),
});
export const updateTenantRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  settings: tenantSettingsPatchSchema.optional(),
  cors_origins: corsOrigins.optional(),
  hostnames: hostnames.optional(),
});
export const deleteTenantRequestSchema = z.strictObject({
  /** The slug again: a deletion cannot happen by a stray request or a wrong path. */
  confirm: z.string().max(64),
});
export const tenantListQuerySchema = pageQuerySchema;
export const tenantListResponseSchema = pageSchema(tenantSchema);

export const signingKeySchema = z.object({
  kid: z.string(),
  alg: z.string(),
  status: z.enum(['active', 'published', 'retired']),
  created_at: z.iso.datetime(),
  retired_at: z.iso.datetime().nullable(),
});
export const signingKeyListResponseSchema = z.object({
  items: z.array(signingKeySchema),
  total: z.number().int(),
});
export const rotateSigningKeyRequestSchema = z.strictObject({
  alg: z.enum(['ES256', 'RS256']).optional(),
});
export const rotateSigningKeyResponseSchema = z.object({ kid: z.string() });

export function tenantView(tenant: AdminTenant): z.infer<typeof tenantSchema> {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    settings: settingsView(tenant.settings, tenant.smtpPasswordSet),
    cors_origins: tenant.corsOrigins,
    hostnames: tenant.hostnames,
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

/** A path slug that cannot exist is answered like an unknown tenant, without a query. */
export function pathSlug(slug: string): string {
  if (!SLUG.test(slug)) throw new AppError('unknown_tenant', 'no such tenant');
  return slug;
}

export const tenantRoutes = new Hono<AdminEnv>();

tenantRoutes.post('/tenants', requireScope('tenants:write'), async (c) => {
  if (c.var.admin.tenantSlug !== null)
    throw new AppError('forbidden', 'a key bound to one tenant cannot create tenants');
  const input = await readJSON(c, createTenantRequestSchema);
  const tenant = await createTenantByAdmin(c.var.deps, input, adminActor(c));
  return c.json({ tenant: tenantView(tenant) }, 201);
});

tenantRoutes.get('/tenants', requireScope('tenants:read'), async (c) => {
  const page = readQuery(c, tenantListQuerySchema);
  const { tenants, total } = await listTenants(c.var.deps.db, {
    ...page,
    onlyTenantId: c.var.admin.tenantId,
  });
  return c.json({ items: tenants.map(tenantView), total, limit: page.limit, offset: page.offset });
});

tenantRoutes.get('/tenants/:slug', requireScope('tenants:read'), async (c) => {
  const tenant = (await getTenant(c.var.deps.db, pathSlug(c.req.param('slug')))) ?? unknownTenant();
  return c.json({ tenant: tenantView(tenant) });
});

tenantRoutes.patch('/tenants/:slug', requireScope('tenants:write'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const input = await readJSON(c, updateTenantRequestSchema);
  const tenant = await updateTenantByAdmin(c.var.deps, slug, input, adminActor(c));
  return c.json({ tenant: tenantView(tenant) });
});

tenantRoutes.delete('/tenants/:slug', requireScope('tenants:write'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const input = await readJSON(c, deleteTenantRequestSchema);
  if (input.confirm !== slug)
    throw new AppError('invalid_request', 'confirm must repeat the tenant slug');
  if (!(await deleteTenant(c.var.deps.db, slug, adminActor(c)))) unknownTenant();
  return c.json({ status: 'deleted' });
});

tenantRoutes.get('/tenants/:slug/signing-keys', requireScope('tenants:read'), async (c) => {
  const listed =
    (await listSigningKeys(c.var.deps.db, pathSlug(c.req.param('slug')))) ?? unknownTenant();
  return c.json({
    items: listed.keys.map((key) => ({
      kid: key.kid,
      alg: key.alg,
      status: key.status as 'active' | 'published' | 'retired',
      created_at: key.createdAt.toISOString(),
      retired_at: key.retiredAt?.toISOString() ?? null,
    })),
    total: listed.keys.length,
  });
});

tenantRoutes.post(
  '/tenants/:slug/signing-keys/rotate',
  requireScope('tenants:write'),
  async (c) => {
    const slug = pathSlug(c.req.param('slug'));
    const input = await readJSON(c, rotateSigningKeyRequestSchema);
    const kid = await rotateSigningKeyByAdmin(c.var.deps, slug, input.alg, adminActor(c));
    return c.json({ kid }, 201);
  },
);

tenantRoutes.post(
  '/tenants/:slug/signing-keys/:kid/retire',
  requireScope('tenants:write'),
  async (c) => {
    const slug = pathSlug(c.req.param('slug'));
    const kid = c.req.param('kid');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(kid)) throw new AppError('not_found', 'no such key');
    const { deps } = c.var;
    const by = adminActor(c);
    const tenant = (await getTenant(deps.db, slug)) ?? unknownTenant();
    await retireSigningKey(deps, tenant.id, kid, by.at);
    await recordAuditEvent(
      deps.db,
      adminEvent(by, 'admin.signing_key.retired', tenant.id, { type: 'signing_key', id: kid }),
    );
    return c.json({ status: 'retired' });
  },
);
