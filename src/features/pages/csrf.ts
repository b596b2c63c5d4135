import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../../app-env.ts';
import type { Config } from '../../env.ts';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';

/** The hidden form field that carries the double-submitted token. */
export const CSRF_FIELD = 'csrf_token';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Same shape rule as the session cookie: `__Host-` (this host, Path=/, Secure) when it can be,
 * `__Secure-` under a BASE_PATH, no prefix on plain-http dev. A sibling subdomain therefore cannot
 * plant a token of its own choosing (the classic double-submit weakness, OWASP CSRF cheat sheet).
 */
function csrfCookie(config: Config): { name: string; path: string; secure: boolean } {
  const secure = config.cookieSecure;
  if (!secure) return { name: 'gatehouse_csrf', path: config.basePath || '/', secure };
  if (config.basePath === '') return { name: '__Host-gatehouse_csrf', path: '/', secure };
  return { name: '__Secure-gatehouse_csrf', path: config.basePath, secure };
}

const issuedThisRequest = new WeakMap<Request, string>();

/**
 * The token for the forms of this response: the browser's current one, or a new random one set
 * as an HttpOnly, SameSite=Lax session cookie. Reusing it keeps two open tabs working.
 */
export function csrfToken(c: Context<AppEnv>): string {
  const issued = issuedThisRequest.get(c.req.raw);
  if (issued !== undefined) return issued;
  const { config, random } = c.var.deps;
  const shape = csrfCookie(config);
  const current = getCookie(c, shape.name);
  if (current !== undefined && TOKEN.test(current)) return current;
  const token = encodeBase64url(random.bytes(32));
  // A page with two forms must not set two different cookies: the last would win.
  issuedThisRequest.set(c.req.raw, token);
  setCookie(c, shape.name, token, {
    path: shape.path,
    secure: shape.secure,
    httpOnly: true,
    sameSite: 'Lax',
  });
  return token;
}

/**
 * A form POST is accepted only when (1) an Origin header, if the browser sent one, is this
 * request's own origin, and (2) the hidden field equals the cookie (constant-time). Browsers send
 * Origin on every form POST today; the token covers the ones that do not.
 */
export function isCsrfValid(c: Context<AppEnv>, form: Record<string, string>): boolean {
  const origin = c.req.header('Origin');
  if (origin !== undefined && origin !== new URL(c.req.url).origin) return false;
  const cookie = getCookie(c, csrfCookie(c.var.deps.config).name);
  const field = form[CSRF_FIELD];
  if (cookie === undefined || field === undefined || !TOKEN.test(cookie)) return false;
  return timingSafeEqual(utf8.encode(cookie), utf8.encode(field));
}
