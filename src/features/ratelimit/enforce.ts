import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { describeError } from '../../log.ts';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';
import type { TenantRef } from '../tenants/context.ts';
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
  const charged: Array<{ effective: Effective; key: string }> = [];
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
  const denied = charged.flatMap(({ effective }, index) =>
    results[index]!.allowed ? [] : [{ effective, result: results[index]! }],
  );
  if (denied.length > 0) {
    deps.log.warn('rate limit exceeded', {
      policies: denied.map(({ effective }) => effective.policy.name),
      tenantKey,
    });
    // audit: security.ratelimit.exceeded — details { policies: denied names }; tenant may be null (admin.write).
    const retryAfter = Math.max(...denied.map(({ result }) => secondsUntil(result.resetAt, now)));
    throw new AppError('rate_limited', 'too many requests; retry later', {
      headers: { ...headers, 'Retry-After': String(retryAfter) },
    });
  }
  return { headers };
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
