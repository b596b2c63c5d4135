import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { targetOf } from '../rbac/http.ts';
import {
  createProvider,
  deleteProvider,
  getProvider,
  listProviders,
  updateProvider,
} from './admin-service.ts';
import type { Provider } from './providers-repo.ts';
import { PROVIDER_KINDS } from './schema.ts';

export const providerSchema = z.object({
  name: z.string(),
  kind: z.enum(PROVIDER_KINDS),
  enabled: z.boolean(),
  issuer: z.string().nullable(),
  client_id: z.string(),
  /** Write-only: never answered. */
  client_secret_set: z.literal(true),
  scopes: z.array(z.string()),
  email_claim: z.string(),
  trust_email_verified: z.boolean(),
  allowed_domains: z.array(z.string()),
  /** What to register at the provider as the redirect (callback) URI. */
  callback_url: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const fields = {
  enabled: z.boolean(),
  issuer: z.string().max(2048).nullable(),
  client_id: z.string().min(1).max(512),
  client_secret: z.string().min(1).max(1024),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/))
    .min(1)
    .max(20),
  email_claim: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/),
  trust_email_verified: z.boolean(),
  allowed_domains: z.array(z.string().regex(DOMAIN)).max(50),
};

export const createProviderRequestSchema = z.strictObject({
  kind: z.enum(PROVIDER_KINDS),
  /** google and github: their kind (the default); oidc: a slug of your choice. */
  name: z.string().max(40).optional(),
  enabled: fields.enabled.default(true),
  issuer: fields.issuer.optional(),
  client_id: fields.client_id,
  client_secret: fields.client_secret,
  scopes: fields.scopes.optional(),
  email_claim: fields.email_claim.default('email'),
  trust_email_verified: fields.trust_email_verified.default(true),
  allowed_domains: fields.allowed_domains.default([]),
});

export const updateProviderRequestSchema = z
  .strictObject({
    enabled: fields.enabled.optional(),
    issuer: fields.issuer.optional(),
    client_id: fields.client_id.optional(),
    client_secret: fields.client_secret.optional(),
    scopes: fields.scopes.optional(),
    email_claim: fields.email_claim.optional(),
    trust_email_verified: fields.trust_email_verified.optional(),
    allowed_domains: fields.allowed_domains.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'at least one field to change');

export const providerResponseSchema = z.object({ provider: providerSchema });
export const providerListResponseSchema = z.object({ items: z.array(providerSchema) });

/** `{public_base_url}/t/{slug}/v1/auth/oauth/{provider}/callback`: one per tenant and provider. */
export function callbackURL(publicBase: URL, basePath: string, slug: string, name: string): string {
  return `${publicBase.origin}${basePath}/t/${slug}/v1/auth/oauth/${name}/callback`;
}

const BASE = '/tenants/:slug/identity-providers';

/** A tenant's upstream identity providers, under /admin/api/v1. */
export const providerRoutes = new Hono<AdminEnv>();

function view(c: { var: AdminEnv['Variables'] }, slug: string, p: Provider) {
  const { config } = c.var.deps;
  return {
    name: p.name,
    kind: p.kind,
    enabled: p.enabled,
    issuer: p.issuer,
    client_id: p.clientId,
    client_secret_set: true as const,
    scopes: p.scopes,
    email_claim: p.emailClaim,
    trust_email_verified: p.trustEmailVerified,
    allowed_domains: p.allowedDomains,
    callback_url: callbackURL(config.publicBaseURL, config.basePath, slug, p.name),
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

providerRoutes.get(BASE, requireScope('tenants:read'), async (c) => {
  const slug = c.req.param('slug');
  const items = await listProviders(c.var.deps, targetOf(c));
  return c.json({ items: items.map((p) => view(c, slug, p)) });
});

providerRoutes.post(BASE, requireScope('tenants:write'), async (c) => {
  const input = await readJSON(c, createProviderRequestSchema);
  const provider = await createProvider(c.var.deps, targetOf(c), {
    name: input.name,
    kind: input.kind,
    enabled: input.enabled,
    issuer: input.issuer,
    clientId: input.client_id,
    clientSecret: input.client_secret,
    scopes: input.scopes,
    emailClaim: input.email_claim,
    trustEmailVerified: input.trust_email_verified,
    allowedDomains: input.allowed_domains,
  });
  return c.json({ provider: view(c, c.req.param('slug'), provider) }, 201);
});

providerRoutes.get(`${BASE}/:name`, requireScope('tenants:read'), async (c) => {
  const provider = await getProvider(c.var.deps, targetOf(c), c.req.param('name'));
  return c.json({ provider: view(c, c.req.param('slug'), provider) });
});

providerRoutes.patch(`${BASE}/:name`, requireScope('tenants:write'), async (c) => {
  const input = await readJSON(c, updateProviderRequestSchema);
  const provider = await updateProvider(c.var.deps, targetOf(c), c.req.param('name'), {
    enabled: input.enabled,
    issuer: input.issuer,
    clientId: input.client_id,
    clientSecret: input.client_secret,
    scopes: input.scopes,
    emailClaim: input.email_claim,
    trustEmailVerified: input.trust_email_verified,
    allowedDomains: input.allowed_domains,
  });
  return c.json({ provider: view(c, c.req.param('slug'), provider) });
});

/**
 * Also deletes every identity linked through the provider and its pending sign-ins; refused
 * while it is some user's only way to sign in, unless `?force=true`.
 */
providerRoutes.delete(`${BASE}/:name`, requireScope('tenants:write'), async (c) => {
  const force = c.req.query('force');
  if (force !== undefined && force !== 'true' && force !== 'false')
    throw new AppError('invalid_request', 'force is true or false');
  await deleteProvider(c.var.deps, targetOf(c), c.req.param('name'), { force: force === 'true' });
  return c.json({ status: 'deleted' as const });
});
