import type { Context } from 'hono';
import { clientInfo } from '../../http/client.ts';
import type { AuditEvent, AuditEventType } from '../audit/events.ts';
import type { AdminEnv } from './auth.ts';

/** Who did an admin write, from where and when: what every admin.* event carries. */
export interface AdminActor {
  actor: AuditEvent['actor'];
  ip: string | null;
  userAgent: string | null;
  at: Date;
}

export function adminActor(c: Context<AdminEnv>): AdminActor {
  const { admin, deps } = c.var;
  const client = clientInfo(c);
  return {
    actor: { type: admin.kind === 'operator' ? 'operator' : 'api_key', id: admin.id },
    ip: client.ip,
    userAgent: client.userAgent,
    at: deps.clock.now(),
  };
}

/** An admin event for `auditInsert`: tenant null for deployment-wide ones (tenants, operators). */
export function adminEvent(
  by: AdminActor,
  type: AuditEventType,
  tenantId: string | null,
  target: { type: string; id: string | null } | null,
  details: Record<string, unknown> = {},
): AuditEvent {
  return {
    tenantId,
    type,
    actor: by.actor,
    target,
    ip: by.ip,
    userAgent: by.userAgent,
    details,
    at: by.at,
  };
}
