import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import type { RouteDoc } from '../../http/openapi.ts';
import { decodeBase64, encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { adminActor } from '../admin/audit.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { pathUUID, readQuery } from '../admin/pagination.ts';
import { pathSlug } from '../admin/tenants-routes.ts';
import { unlockAccount } from '../lockout/service.ts';
import { findTenant } from '../tenants/repo.ts';
import { listEvents, type SealedEvent } from './repo.ts';

export const auditQuerySchema = z.strictObject({
  /** Comma-separated event types, e.g. `security.login.failed,security.account.locked`. */
  type: z.string().max(1000).optional(),
  /** Events whose actor or target is this user. */
  user: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const auditEventSchema = z.object({
  id: z.uuid(),
  type: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  target: z.object({ type: z.string().nullable(), id: z.string().nullable() }),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  request_id: z.string().nullable(),
  created_at: z.iso.datetime(),
  details: z.unknown(),
  seq: z.number().nullable(),
});

export const auditPageSchema = z.object({
  items: z.array(auditEventSchema),
  next_cursor: z.string().nullable(),
});

function readCursor(cursor: string | undefined): { createdAt: Date; id: string } | null {
  if (cursor === undefined) return null;
  try {
    const { c, i } = JSON.parse(utf8.decode(decodeBase64(cursor))) as { c: string; i: string };
    const createdAt = new Date(c);
    if (Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(i))
      throw new Error('bad cursor');
    return { createdAt, id: i };
  } catch {
    throw new AppError('invalid_request', 'cursor: not a cursor this API returned');
  }
}

function view(event: SealedEvent): z.infer<typeof auditEventSchema> {
  return {
    id: event.id,
    type: event.type,
    actor: { type: event.actorType, id: event.actorId },
    target: { type: event.targetType, id: event.targetId },
    ip: event.ip,
    user_agent: event.userAgent,
    request_id: event.requestId,
    created_at: event.createdAt.toISOString(),
    details: event.details,
    seq: event.seq,
  };
}

export const auditRoutes = new Hono<AdminEnv>();

/** A tenant's audit log, newest first, with cursor pagination. Two round trips. */
auditRoutes.get('/tenants/:slug/audit', requireScope('audit:read'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const query = readQuery(c, auditQuerySchema);
  const { db } = c.var.deps;
  const tenant = await findTenant(db, { ref: { by: 'slug', slug }, tenant: null });
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  const events = await listEvents(db, {
    tenantId: tenant.id,
    types: (query.type ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
    userId: query.user ?? null,
    from: query.from === undefined ? null : new Date(query.from),
    to: query.to === undefined ? null : new Date(query.to),
    after: readCursor(query.cursor),
    limit: query.limit + 1,
  });
  const page = events.slice(0, query.limit);
  const last = page[page.length - 1];
  const next =
    events.length > query.limit && last !== undefined
      ? encodeBase64url(
          utf8.encode(JSON.stringify({ c: last.createdAt.toISOString(), i: last.id })),
        )
      : null;
  return c.json({ items: page.map(view), next_cursor: next });
});

/** Lifts a lockout (security.account.unlocked, recorded in the same statement). Two round trips. */
auditRoutes.post('/tenants/:slug/users/:id/unlock', requireScope('users:write'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const userId = pathUUID(c.req.param('id'), 'user');
  await readJSON(c, z.strictObject({})); // no body, or `{}`: anything else is a mistake
  const { deps } = c.var;
  const tenant = await findTenant(deps.db, { ref: { by: 'slug', slug }, tenant: null });
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  const result = await unlockAccount(deps, tenant.id, userId, {
    type: adminActor(c).actor.type,
    id: adminActor(c).actor.id ?? null,
  });
  // Like every other user route: an id outside the tenant is no user here.
  if (result === null) throw new AppError('not_found', 'no such user');
  return c.json({ status: result.wasLocked ? 'unlocked' : 'not_locked' });
});

export const auditDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/api/v1/tenants/:slug/audit',
    summary: "A tenant's audit log: filter by type, user and time; cursor pagination (audit:read)",
    tag: 'audit',
    auth: 'admin',
    query: auditQuerySchema,
    responses: { 200: { description: 'a page of events', schema: auditPageSchema } },
  },
  {
    method: 'post',
    path: '/admin/api/v1/tenants/:slug/users/:id/unlock',
    summary: 'Lift a login lockout (users:write)',
    tag: 'users',
    auth: 'admin',
    responses: {
      200: {
        description: 'unlocked or not_locked',
        schema: z.object({ status: z.enum(['unlocked', 'not_locked']) }),
      },
      404: { description: '`unknown_tenant`, or `not_found`: the id is no user of the tenant' },
    },
  },
];
