import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { currentRequestScope } from '../../request-scope.ts';

/** Stable dotted event types. Clients filter on them; never rename one. */
export type AuditEventType =
  | 'security.user.registered'
  | 'security.login.succeeded'
  | 'security.login.failed'
  | 'security.account.locked'
  | 'security.account.unlocked'
  | 'security.session.revoked'
  | 'security.password.changed'
  | 'security.token.reuse_detected'
  | 'security.ratelimit.exceeded'
  | 'security.bootstrap.used'
  | 'security.recovery_code.used'
  | 'mail.failed'
  | `security.${string}`
  | `oauth.${string}`
  | `admin.${string}`;

export type ActorType = 'user' | 'operator' | 'api_key' | 'system' | 'anonymous';

export interface AuditEvent {
  /** null: a deployment-wide event (operators, bootstrap). */
  tenantId: string | null;
  type: AuditEventType;
  actor: { type: ActorType; id?: string | null };
  target?: { type: string; id: string | null } | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Recorded, never returned to the end user (e.g. why a login failed). No secrets. */
  details?: Record<string, unknown>;
  /** Defaults to the current request's clock reading; pass the one the action used. */
  at: Date;
}

const COLUMNS = sql.raw(
  'audit_events (id, tenant_id, type, actor_type, actor_id, target_type, target_id, ip, user_agent, request_id, created_at, details)',
);

function values(event: AuditEvent): SQL {
  return sql`${crypto.randomUUID()}::uuid, ${event.tenantId}::uuid, ${event.type}, ${event.actor.type},
    ${event.actor.id ?? null}, ${event.target?.type ?? null}, ${event.target?.id ?? null}, ${event.ip ?? null},
    ${event.userAgent?.slice(0, 512) ?? null}, ${currentRequestScope()?.requestId ?? null},
    ${event.at.toISOString()}::timestamptz, ${JSON.stringify(event.details ?? {})}::jsonb`;
}

/**
 * An INSERT for use as a member of the action's own statement (a data-modifying CTE), so the
 * event commits exactly when the action does. `when` makes it conditional on the action having
 * happened, e.g. `exists (select 1 from revoked)`.
 */
export function auditInsert(event: AuditEvent, options: { when?: SQL } = {}): SQL {
  if (options.when === undefined) return sql`insert into ${COLUMNS} values (${values(event)})`;
  return sql`insert into ${COLUMNS} select ${values(event)} where ${options.when}`;
}

/**
 * One event per row of `source` (a CTE of the same statement); `from` names the columns of that
 * row that fill the target id and, where the caller does not know them up front, tenant and actor.
 */
export function auditInsertEach(
  event: Omit<AuditEvent, 'tenantId'> & { tenantId?: string | null },
  source: SQL,
  from: { targetId: SQL; tenantId?: SQL; actorId?: SQL },
): SQL {
  const tenant = from.tenantId ?? sql`${event.tenantId ?? null}::uuid`;
  const actor = from.actorId ?? sql`${event.actor.id ?? null}`;
  return sql`insert into ${COLUMNS}
    select gen_random_uuid(), ${tenant}, ${event.type}, ${event.actor.type}, ${actor}::text,
      ${event.target?.type ?? null}, ${from.targetId}::text, ${event.ip ?? null}, ${event.userAgent?.slice(0, 512) ?? null},
      ${currentRequestScope()?.requestId ?? null}, ${event.at.toISOString()}::timestamptz, ${JSON.stringify(event.details ?? {})}::jsonb
    from ${source}`;
}

/** For an event with no other write to ride on (a failed login, a refused request): one round trip. */
export async function recordAuditEvent(db: Database, event: AuditEvent): Promise<void> {
  await db.execute(auditInsert(event));
}
