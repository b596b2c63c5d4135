import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';

export const healthDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness: the isolate runs with a valid configuration (no I/O)',
    tag: 'health',
    auth: 'none',
    responses: { 200: { description: 'alive', schema: z.object({ status: z.literal('ok') }) } },
  },
  {
    method: 'get',
    path: '/health/ready',
    summary:
      'Readiness: one database round trip, and this build may serve the schema (its own version, or ahead by additive migrations only)',
    tag: 'health',
    auth: 'none',
    responses: {
      200: {
        description: 'ready',
        schema: z.object({
          status: z.literal('ready'),
          schema_version: z.number(),
          expected_version: z.number(),
        }),
      },
      503: { description: '`not_ready` or `schema_mismatch`' },
    },
  },
];
