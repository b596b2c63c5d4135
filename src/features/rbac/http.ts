import type { Context } from 'hono';
import { z } from 'zod';
import { clientInfo } from '../../http/client.ts';
import type { RouteDoc } from '../../http/openapi.ts';
import type { AdminEnv } from '../admin/auth.ts';
import type { Scope } from '../apikeys/scopes.ts';
import type { TenantTarget } from './sql.ts';

/** The tenant a request names, with the caller's binding and who they are (for the audit event). */
export function targetOf(c: Context<AdminEnv>): TenantTarget {
  const { admin } = c.var;
  const client = clientInfo(c);
  return {
    slug: c.req.param('slug') ?? '',
    boundTenantId: admin.tenantId,
    actor: {
      type: admin.kind === 'operator' ? 'operator' : 'api_key',
      id: admin.id,
      ip: client.ip,
      userAgent: client.userAgent,
    },
  };
}

export const ADMIN_BASE = '/admin/api/v1';

export const deletedSchema = z.object({ status: z.literal('deleted') });

/** A RouteDoc for an admin route of this feature; the scope it needs is stated in the summary. */
export function adminDoc(
  method: RouteDoc['method'],
  path: string,
  scope: Scope,
  summary: string,
  parts: Pick<RouteDoc, 'body' | 'query' | 'responses'>,
  tag: string,
): RouteDoc {
  return {
    method,
    path: `${ADMIN_BASE}${path}`,
    summary: `${summary} (needs ${scope})`,
    tag,
    auth: 'admin',
    ...parts,
  };
}
