import { Hono } from 'hono';
import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from './exposition.ts';
import { readMetricsTotals } from './read.ts';

export const metricsRoutes = new Hono<AdminEnv>();

/**
 * The cumulative counters of every isolate, from Redis, for Prometheus to scrape. No database
 * round trip beyond the caller's authentication; two Redis round trips. A key bound to a tenant
 * sees that tenant's series only.
 */
metricsRoutes.get('/metrics', requireScope('metrics:read'), async (c) => {
  const totals = await readMetricsTotals(c.var.deps, c.var.admin.tenantSlug);
  return c.body(renderExposition(totals), 200, {
    'Content-Type': EXPOSITION_CONTENT_TYPE,
    'Cache-Control': 'no-store',
  });
});

export const metricsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/api/v1/metrics',
    summary:
      'Request counts, latency histograms, rate-limit refusals and login failures per tenant and route, in Prometheus text format (metrics:read)',
    tag: 'metrics',
    auth: 'admin',
    responses: {
      200: {
        description: 'Prometheus text exposition format 0.0.4',
        schema: z.string(),
        mediaType: 'text/plain',
      },
      503: { description: '`metrics_unavailable`: the metrics store (Redis) did not answer' },
    },
  },
];
