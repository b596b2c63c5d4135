import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import type { TenantScope } from '../tenants/context.ts';
import { NO_TENANT, UNMATCHED_ROUTE } from './samples.ts';

/**
 * Measures every request that reaches it (mounted after /health and the docs, which probes would
 * drown out) and hands the sample to the recorder after the answer, through waitUntil: the
 * response never waits for the metrics stores, and their failure never changes it.
 */
export const recordRequestMetrics = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const { deps } = c.var;
  // Real time, not the injected clock: the minute buckets are read back against real time.
  const at = new Date();
  deps.waitUntil(
    deps.metrics.finish(
      {
        tenant: tenantLabel(c),
        method: c.req.method,
        route: routeTemplate(c),
        status: c.res.status,
        latencySeconds: (performance.now() - started) / 1000,
      },
      at,
    ),
  );
});

/**
 * The handler's route as registered (`/v1/auth/login`, `/admin/api/v1/tenants/:slug`), never the
 * path: the handler that answered, or, when a middleware before it answered or threw, the handler
 * it stood in front of. Middleware (`use`, `all`) are registered for method ALL.
 */
function routeTemplate(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  const from = Math.max(0, c.req.routeIndex);
  const handler = routes.slice(from).find((route) => route.method !== 'ALL');
  return handler?.path ?? UNMATCHED_ROUTE;
}

/**
 * Only a tenant the database confirmed: a slug from the URL alone is whatever a client typed, and
 * would let anyone mint series (and Redis keys) at will.
 */
function tenantLabel(c: Context<AppEnv>): string {
  // Unset outside the tenant API (the admin API, a 404).
  const scope = c.var.tenantScope as TenantScope | undefined;
  return scope?.tenant?.slug ?? NO_TENANT;
}
