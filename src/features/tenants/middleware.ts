import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import {
  CORS_ALLOWED_HEADERS,
  CORS_MAX_AGE_SECONDS,
  corsHeaders,
  isAllowedOrigin,
} from '../../http/cors.ts';
import { SLUG, rootTenantRef, type TenantRef } from './context.ts';
import { findTenant } from './repo.ts';
import { currentRequestScope } from '../../request-scope.ts';

/** Names the request's tenant from /t/{slug}, a custom hostname or DEFAULT_TENANT. No I/O. */
export const tenantScope = createMiddleware<AppEnv>(async (c, next) => {
  const { config } = c.var.deps;
  const slug = currentRequestScope()?.tenantSlug;
  let ref: TenantRef | null;
  if (slug !== undefined) {
    if (!SLUG.test(slug)) throw new AppError('unknown_tenant', 'no such tenant');
    ref = { by: 'slug', slug };
  } else {
    ref = rootTenantRef(new URL(c.req.url), config);
  }
  if (ref === null) throw new AppError('unknown_tenant', 'no tenant is served at this address');
  c.set('tenantScope', { ref, tenant: null });
  c.set('tenantSlug', ref.by === 'slug' ? ref.slug : undefined);
  await next();
});

/**
 * CORS for SPAs calling with credentials: exact origins only, never `*`; preflights answered from
 * the tenant's list (one round trip) and cacheable; `Vary: Origin` on everything.
 */
export const tenantCORS = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header('Origin');
  const url = new URL(c.req.url);
  const scope = c.var.tenantScope;
  const { config, db } = c.var.deps;
  if (
    c.req.method === 'OPTIONS' &&
    origin !== undefined &&
    c.req.header('Access-Control-Request-Method')
  ) {
    const tenant = await findTenant(db, scope);
    if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
    c.header('Vary', 'Origin');
    if (!isAllowedOrigin(origin, url, config, tenant)) {
      throw new AppError('origin_not_allowed', 'this origin is not allowed');
    }
    return c.body(null, 204, {
      ...corsHeaders(origin),
      'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
      'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS,
      'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
      Vary: 'Origin',
    });
  }
  await next();
  c.res.headers.append('Vary', 'Origin');
  if (scope.tenant !== null && scope.tenant.slug !== c.var.tenantSlug)
    c.set('tenantSlug', scope.tenant.slug);
  if (
    origin !== undefined &&
    origin !== 'null' &&
    isAllowedOrigin(origin, url, config, scope.tenant)
  ) {
    for (const [name, value] of Object.entries(corsHeaders(origin))) c.res.headers.set(name, value);
  }
  return undefined;
});
