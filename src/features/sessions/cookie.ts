import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../../env.ts';
import type { Tenant, TenantRef } from '../tenants/context.ts';

interface CookieShape {
  name: string;
  path: string;
  secure: boolean;
}

/**
 * `__Host-` binds the cookie to this exact host and path /, so no sibling subdomain can set or
 * shadow it (RFC 6265bis §4.1.3.2). It needs Secure and Path=/, so a BASE_PATH deployment uses
 * `__Secure-` with Path=BASE_PATH instead; plain-http local dev gets no prefix.
 */
export function sessionCookieShape(config: Config, ref: TenantRef): CookieShape {
  const secure = config.cookieSecure;
  // A custom hostname belongs to one tenant; on the shared host the slug keeps tenants apart.
  const base = ref.by === 'slug' ? `gatehouse_${ref.slug.replace(/-/g, '_')}` : 'gatehouse_session';
  if (!secure) return { name: base, path: config.basePath || '/', secure };
  if (config.basePath === '') return { name: `__Host-${base}`, path: '/', secure };
  return { name: `__Secure-${base}`, path: config.basePath, secure };
}

export function readSessionCookie(c: Context, config: Config, ref: TenantRef): string | undefined {
  return getCookie(c, sessionCookieShape(config, ref).name);
}

export function writeSessionCookie(
  c: Context,
  config: Config,
  ref: TenantRef,
  tenant: Tenant,
  token: string,
  expiresAt: Date,
): void {
  const shape = sessionCookieShape(config, ref);
  setCookie(c, shape.name, token, {
    path: shape.path,
    // Browsers drop a SameSite=None cookie without Secure (RFC 6265bis §5.6.19): force it.
    secure: shape.secure || tenant.settings.cookieSameSite === 'None',
    httpOnly: true,
    sameSite: tenant.settings.cookieSameSite,
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, config: Config, ref: TenantRef): void {
  const shape = sessionCookieShape(config, ref);
  deleteCookie(c, shape.name, { path: shape.path, secure: shape.secure, httpOnly: true });
}
