import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { describeError } from '../../log.ts';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { sql, type SQL } from 'drizzle-orm';
import { auditInsert, auditInsertEach, type ActorType, type AuditEvent } from '../audit/events.ts';
import type { ClientInfo } from '../sessions/service.ts';
import type { TenantRef } from '../tenants/context.ts';
import { tenantMatch } from '../tenants/repo.ts';
import type { TenantSettings } from '../tenants/settings.ts';
import { ipSubject } from './client-ip.ts';
import { RateLimiterUnavailableError, type LimitResult } from './limiter.ts';
import { findPolicy, type RateLimitPolicy } from './policies.ts';

/** One counter to charge: a policy and whom it counts (an IP, a normalised email, a session id). */
export interface LimitCheck {
  policy: string;
  /** null: not known for this request (no client address outside production); not charged. */
  subject: string | null;
}

/** The tenant the counters belong to; null for counters outside any tenant (operators). */
export interface LimitTenant {
  id: string;
  slug: string;
  settings: Pick<TenantSettings, 'rateLimits'>;
}

export interface EnforceOptions {
  /**
   * Whose counters: a loaded tenant (its overrides apply), or only its reference when the
   * database has not been asked yet (the defaults apply). Absent: counters outside any tenant.
   */
  tenant?: LimitTenant | TenantRef | null;
  /** Who is asking, for the `security.ratelimit.exceeded` event of a refusal. */
  client?: ClientInfo;
  actor?: { type: ActorType; id: string | null };
}

export interface RateLimitOutcome {
  /** `RateLimit` and `RateLimit-Policy` for a response that went through (optional to send). */
  headers: Record<string, string>;
}

interface Effective {
  policy: RateLimitPolicy;
  limit: number;
  windowSeconds: number;
}

interface Charged {
  effective: Effective;
  key: string;
}

/** Seconds a client is told to wait when the limiter itself is down. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** One policy, one subject: the form other features call, e.g. `enforce(deps, 'admin.write', keyId)`. */
export function enforce(
  deps: Deps,
  policy: string,
  subject: string | null,
  options: EnforceOptions = {},
): Promise<RateLimitOutcome> {
  return enforceRateLimits(deps, [{ policy, subject }], options);
}

/**
 * Charges every check in one Redis round trip. Over any limit: `429 rate_limited` with
 * Retry-After and the RateLimit fields. Redis down or slow (RATE_LIMITER_TIMEOUT_MS): `503
 * rate_limiter_unavailable` if any policy fails closed, else the request goes on; logged either
 * way. Call it before the expensive work (hashing, writes) it protects.
 */
export async function enforceRateLimits(
  deps: Deps,
  checks: LimitCheck[],
  options: EnforceOptions = {},
): Promise<RateLimitOutcome> {
  const tenant =
    options.tenant === undefined || options.tenant === null || 'by' in options.tenant
      ? null
      : options.tenant;
  const tenantKey = tenantKeyOf(options.tenant ?? null);
  const charged: Charged[] = [];
  for (const check of checks) {
    const policy = findPolicy(check.policy);
    if (policy === undefined) throw new Error(`unknown rate-limit policy ${check.policy}`);
    const subject = subjectOf(deps, policy, check.subject);
    if (subject === null) continue;
    const override = tenant?.settings.rateLimits[policy.name];
    const effective = {
      policy,
      limit: override?.limit ?? policy.limit,
      windowSeconds: override?.windowSeconds ?? policy.windowSeconds,
    };
    charged.push({ effective, key: await counterKey(policy, tenantKey, subject) });
  }
  if (charged.length === 0) return { headers: {} };

  let results: LimitResult[];
  try {
    results = await deps.rateLimiter.hit(
      charged.map(({ effective, key }) => ({
        key,
        limit: effective.limit,
        windowSeconds: effective.windowSeconds,
      })),
    );
  } catch (error) {
    if (!(error instanceof RateLimiterUnavailableError)) throw error;
    const failClosed = charged.some(({ effective }) => effective.policy.onUnavailable === 'closed');
    deps.log.error('rate limiter unavailable', {
      dependency: 'redis',
      policies: charged.map(({ effective }) => effective.policy.name),
      tenantKey,
      outcome: failClosed ? 'refused' : 'allowed',
      ...describeError(error, false),
    });
    if (failClosed) {
      throw new AppError(
        'rate_limiter_unavailable',
        'temporarily unable to accept this request; retry shortly',
        {
          cause: error,
          headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
        },
      );
    }
    return { headers: {} };
  }

  const now = Date.now(); // Redis windows run on real time, not the injected clock.
  const headers = rateLimitHeaders(
    charged.map(({ effective }, index) => ({ effective, result: results[index]! })),
    now,
  );
  const denied = charged.flatMap((entry, index) =>
    results[index]!.allowed ? [] : [{ ...entry, result: results[index]! }],
  );
  if (denied.length > 0) {
    for (const { effective } of denied) deps.metrics.rateLimited(effective.policy.name);
    deps.log.warn('rate limit exceeded', {
      policies: denied.map(({ effective }) => effective.policy.name),
      tenantKey,
    });
    // After the answer, off its path: the 429 waits for neither Redis nor the database.
    deps.waitUntil(auditRefusal(deps, options, denied));
    const retryAfter = Math.max(...denied.map(({ result }) => secondsUntil(result.resetAt, now)));
    throw new AppError('rate_limited', 'too many requests; retry later', {
      headers: { ...headers, 'Retry-After': String(retryAfter) },
    });
  }
  return { headers };
}

/**
 * Records `security.ratelimit.exceeded` for the first refusal of each counter's window only: a
 * flood of refused requests must not become a flood of database writes. The window is claimed in
 * Redis (SET NX EX); the event says until when further refusals go unrecorded. Best effort: a
 * failure here is logged and never changes the answer already given.
 */
async function auditRefusal(
  deps: Deps,
  options: EnforceOptions,
  denied: Array<Charged & { result: LimitResult }>,
): Promise<void> {
  try {
    const claimed = await deps.rateLimiter.claim(
      denied.map(({ key, effective }) => ({ key, windowSeconds: effective.windowSeconds })),
    );
    const first = denied.filter((_, index) => claimed[index] === true);
    if (first.length === 0) return;
    const at = deps.clock.now();
    const event: Omit<AuditEvent, 'tenantId'> = {
      type: 'security.ratelimit.exceeded',
      actor: options.actor ?? { type: 'anonymous' },
      target: null,
      ip: options.client?.ip ?? null,
      userAgent: options.client?.userAgent ?? null,
      details: {
        policies: first.map(({ effective, result }) => ({
          name: effective.policy.name,
          limit: effective.limit,
          window_seconds: effective.windowSeconds,
          refused_until: new Date(result.resetAt).toISOString(),
        })),
        // Refusals after this one in the same window are counted in Redis, not recorded here.
        recorded: 'first_in_window',
      },
      at,
    };
    await deps.db.execute(refusalInsert(options.tenant ?? null, event));
  } catch (error) {
    deps.log.error('rate-limit refusal not audited', describeError(error, false));
  }
}

/** The event in the tenant's chain; a tenant known only by reference is resolved in the statement. */
function refusalInsert(
  tenant: LimitTenant | TenantRef | null,
  event: Omit<AuditEvent, 'tenantId'>,
): SQL {
  if (tenant === null) return auditInsert({ ...event, tenantId: null });
  if (!('by' in tenant)) return auditInsert({ ...event, tenantId: tenant.id });
  return auditInsertEach(event, sql`tenants t where ${tenantMatch(tenant)}`, {
    targetId: sql`null`,
    tenantId: sql`t.id`,
  });
}

function subjectOf(deps: Deps, policy: RateLimitPolicy, subject: string | null): string | null {
  if (subject !== null && subject !== '') return policy.per === 'ip' ? ipSubject(subject) : subject;
  // Cloudflare always sends CF-Connecting-IP, so in production a missing address is odd, and
  // such requests share one counter rather than escape the limit. Elsewhere (tests, local
  // tools) there is no address to count by.
  return policy.per === 'ip' && deps.config.environment === 'production' ? 'unknown' : null;
}

function tenantKeyOf(tenant: LimitTenant | TenantRef | null): string {
  if (tenant === null) return '-';
  if (!('by' in tenant)) return tenant.slug;
  return tenant.by === 'slug' ? tenant.slug : `host:${tenant.hostname}`;
}

/**
 * Subjects are hashed: no email address or IP address is stored in Redis. Tenants are keyed by
 * slug (permanent), so a counter is the same whether or not the tenant row was loaded first.
 */
async function counterKey(
  policy: RateLimitPolicy,
  tenantKey: string,
  subject: string,
): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', utf8.encode(`${policy.per}:${subject}`)),
  );
  return `${policy.name}:${tenantKey}:${encodeBase64url(digest.subarray(0, 16))}`;
}

function secondsUntil(resetAt: number, now: number): number {
  return Math.max(1, Math.ceil((resetAt - now) / 1000));
}

/**
 * The fields of draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy: "name";q=…;w=…` and
 * `RateLimit: "name";r=…;t=…`, one list member per counter charged.
 */
function rateLimitHeaders(
  entries: Array<{ effective: Effective; result: LimitResult }>,
  now: number,
): Record<string, string> {
  return {
    'RateLimit-Policy': entries
      .map(
        ({ effective }) =>
          `"${effective.policy.name}";q=${effective.limit};w=${effective.windowSeconds}`,
      )
      .join(', '),
    RateLimit: entries
      .map(
        ({ effective, result }) =>
          `"${effective.policy.name}";r=${result.remaining};t=${secondsUntil(result.resetAt, now)}`,
      )
      .join(', '),
  };
}
