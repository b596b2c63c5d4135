import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../../env.ts';

interface CookieShape {
  name: string;
  path: string;
  secure: boolean;
}

/**
 * `__Host-` pins the cookie to this host and Path=/ (RFC 6265bis §4.1.3.2); with BASE_PATH it
 * must be `__Secure-` instead. SameSite=Strict always: operators never arrive from another site
 * with a reason to be signed in.
 */
export function operatorCookieShape(config: Config): CookieShape {
  const secure = config.cookieSecure;
  const base = 'gatehouse_admin';
  if (!secure) return { name: base, path: config.basePath || '/', secure };
  if (config.basePath === '') return { name: `__Host-${base}`, path: '/', secure };
  return { name: `__Secure-${base}`, path: config.basePath, secure };
}

export function readOperatorCookie(c: Context, config: Config): string | undefined {
  return getCookie(c, operatorCookieShape(config).name);
}

export function writeOperatorCookie(
  c: Context,
  config: Config,
  token: string,
  expiresAt: Date,
): void {
  const shape = operatorCookieShape(config);
  setCookie(c, shape.name, token, {
    path: shape.path,
    secure: shape.secure,
    httpOnly: true,
    sameSite: 'Strict',
    expires: expiresAt,
  });
}

export function clearOperatorCookie(c: Context, config: Config): void {
  const shape = operatorCookieShape(config);
  deleteCookie(c, shape.name, {
    path: shape.path,
    secure: shape.secure,
    httpOnly: true,
    sameSite: 'Strict',
  });
}
