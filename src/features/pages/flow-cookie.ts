import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../../app-env.ts';

/**
 * Short-lived HttpOnly cookies that carry a flow's secret between two hosted pages (the MFA token
 * after the password; a reset or verification token taken off a mailed link), so the secret is
 * never in a URL we log, a Referer, or the page's HTML. Named like the session cookie: `__Host-`
 * when possible. Each lives at most as long as the secret it carries.
 */
export type FlowCookie = 'mfa' | 'reset' | 'verify' | 'federation';

function shape(
  c: Context<AppEnv>,
  kind: FlowCookie,
): { name: string; path: string; secure: boolean } {
  const { cookieSecure: secure, basePath } = c.var.deps.config;
  const base = `gatehouse_${kind}`;
  if (!secure) return { name: base, path: basePath || '/', secure };
  if (basePath === '') return { name: `__Host-${base}`, path: '/', secure };
  return { name: `__Secure-${base}`, path: basePath, secure };
}

export function setFlowCookie(
  c: Context<AppEnv>,
  kind: FlowCookie,
  value: string,
  maxAgeSeconds: number,
): void {
  const s = shape(c, kind);
  setCookie(c, s.name, value, {
    path: s.path,
    secure: s.secure,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: Math.max(1, Math.floor(maxAgeSeconds)),
  });
}

export function readFlowCookie(c: Context<AppEnv>, kind: FlowCookie): string | undefined {
  const value = getCookie(c, shape(c, kind).name);
  return value === undefined || value === '' ? undefined : value;
}

export function clearFlowCookie(c: Context<AppEnv>, kind: FlowCookie): void {
  const s = shape(c, kind);
  deleteCookie(c, s.name, { path: s.path, secure: s.secure, httpOnly: true });
}
