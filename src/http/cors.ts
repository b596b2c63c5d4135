import type { Config } from '../env.ts';
import { AppError } from '../errors.ts';
import type { Tenant } from '../features/tenants/context.ts';

export const CORS_MAX_AGE_SECONDS = 7200; // Chromium's cap; Firefox allows 86400.
export const CORS_ALLOWED_HEADERS = 'Content-Type, Authorization, X-Request-Id';

/** Exact match only: an allowed origin is compared as a whole string, never as a pattern. */
export function isAllowedOrigin(
  origin: string,
  requestURL: URL,
  config: Config,
  tenant: Tenant | null,
): boolean {
  if (origin === requestURL.origin || origin === config.publicBaseURL.origin) return true;
  return config.corsOrigins.includes(origin) || (tenant?.corsOrigins.includes(origin) ?? false);
}

/**
 * CSRF guard for cookie-authenticated writes: a browser names the page's origin on every
 * cross-origin (and same-origin) POST, so a foreign or opaque (`null`) origin is refused. No Origin
 * at all is a non-browser client (curl, a server), which a cross-site page cannot impersonate.
 */
export function assertOriginAllowed(
  origin: string | undefined,
  requestURL: URL,
  config: Config,
  tenant: Tenant,
): void {
  if (origin === undefined) return;
  if (origin !== 'null' && isAllowedOrigin(origin, requestURL, config, tenant)) return;
  throw new AppError('origin_not_allowed', 'this origin may not act with the session cookie');
}

export function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': 'X-Request-Id, Retry-After, RateLimit, RateLimit-Policy',
  };
}
