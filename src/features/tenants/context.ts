import type { Config } from '../../env.ts';
import type { TenantSettings } from './settings.ts';

/** How a request names its tenant; resolved to a row inside the first query that needs it. */
export type TenantRef = { by: 'slug'; slug: string } | { by: 'hostname'; hostname: string };

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  settings: TenantSettings;
  corsOrigins: string[];
}

/**
 * Per-request holder: repositories fill `tenant` when a query loads it, so CORS headers can be
 * decided even for an error answer, without a query of their own.
 */
export interface TenantScope {
  ref: TenantRef;
  tenant: Tenant | null;
}

export const SLUG = /^[a-z0-9][a-z0-9-]{1,49}$/;

/**
 * On the main host without a /t/{slug} prefix: DEFAULT_TENANT. On any other host: the tenant
 * that host is mapped to (custom hostname).
 */
export function rootTenantRef(requestURL: URL, config: Config): TenantRef | null {
  if (requestURL.hostname !== config.publicBaseURL.hostname) {
    return { by: 'hostname', hostname: requestURL.hostname.toLowerCase() };
  }
  return config.defaultTenant === null ? null : { by: 'slug', slug: config.defaultTenant };
}

/** The issuer of a tenant's tokens: stable whichever way the tenant was reached. */
export function issuerURL(config: Config, slug: string): string {
  return `${config.publicBaseURL.origin}${config.basePath}/t/${slug}`;
}
