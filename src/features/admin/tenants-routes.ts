import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { sealSMTPPassword } from '../mail/repo.ts';
import { SLUG } from '../tenants/context.ts';
import { validateCORSOrigins } from '../tenants/service.ts';
import { retireSigningKey, rotateSigningKey } from '../tokens/rotation.ts';
import type { Deps } from '../../deps.ts';
import type { SigningAlgorithm } from '../tokens/keys.ts';
import { adminActor, adminEvent, type AdminActor } from './audit.ts';
import { createTenantByAdmin } from './tenants-service.ts';
import { requireScope, type AdminEnv } from './auth.ts';
import { pageQuerySchema, pageSchema, readQuery } from './pagination.ts';
import {
  settingsView,
  storedPatch,
  tenantSettingsPatchSchema,
  tenantSettingsViewSchema,
} from './tenant-settings.ts';
import {
  deleteTenant,
  getTenant,
  listSigningKeys,
  listTenants,
  updateTenant,
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

function unknownTenant(): never {
  throw new AppError('unknown_tenant', 'no such tenant');
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
  const patch = storedPatch(input.settings ?? {});
  const { deps } = c.var;
  // A new SMTP password is sealed bound to the tenant's id: one more round trip to learn it.
  let smtpPasswordSealed: string | null | undefined =
    patch.smtpPassword === null ? null : undefined;
  if (typeof patch.smtpPassword === 'string') {
    const tenant = (await getTenant(deps.db, slug)) ?? unknownTenant();
    smtpPasswordSealed = await sealSMTPPassword(
      deps.config.secretKey,
      tenant.id,
      patch.smtpPassword,
    );
  }
  const outcome = await updateTenant(
    deps.db,
    slug,
    {
      name: input.name,
      settings: patch.top,
      passwordPolicy: patch.passwordPolicy,
      lockout: patch.lockout,
      mail: patch.mail,
      smtpPasswordSealed,
      corsOrigins:
        input.cors_origins === undefined ? undefined : validateCORSOrigins(input.cors_origins),
      hostnames: input.hostnames === undefined ? undefined : [...new Set(input.hostnames)],
    },
    adminActor(c),
  );
  if (outcome.status === 'hostname_taken')
    throw new AppError('conflict', 'another tenant serves one of these hostnames');
  if (outcome.status === 'not_found') unknownTenant();
  const alg = input.settings?.signing_algorithm;
  if (alg !== undefined) await signWith(c.var.deps, outcome.tenant.id, slug, alg, adminActor(c));
  return c.json({ tenant: tenantView(outcome.tenant) });
});

/**
 * A changed signing algorithm applies to the next token: a key of that algorithm is rotated in
 * at once (the old key stays published, so its tokens verify until retired). Only when the
 * active key has another algorithm; two or three round trips on this rare write.
 */
async function signWith(
  deps: Deps,
  tenantId: string,
  slug: string,
  alg: SigningAlgorithm,
  by: AdminActor,
): Promise<void> {
  const listed = await listSigningKeys(deps.db, slug);
  if (listed?.keys.some((key) => key.status === 'active' && key.alg === alg) !== false) return;
  const { kid } = await rotateSigningKey(
    { db: deps.db, secretKey: deps.config.secretKey, random: deps.random },
    tenantId,
    alg,
  );
  await recordAuditEvent(
    deps.db,
    adminEvent(by, 'admin.signing_key.rotated', tenantId, { type: 'signing_key', id: kid }),
  );
}

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
    const { deps } = c.var;
    const by = adminActor(c);
    const tenant = (await getTenant(deps.db, slug)) ?? unknownTenant();
    const { kid } = await rotateSigningKey(
      { db: deps.db, secretKey: deps.config.secretKey, random: deps.random },
      tenant.id,
      input.alg ?? tenant.settings.signingAlgorithm,
    );
    // rotateSigningKey owns its batch: the event is its own round trip.
    await recordAuditEvent(
      deps.db,
      adminEvent(by, 'admin.signing_key.rotated', tenant.id, { type: 'signing_key', id: kid }),
    );
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
