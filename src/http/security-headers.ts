import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app-env.ts';
import { encodeBase64url } from '../lib/encoding.ts';

/** What an HTML page of this response may load beyond the defaults (see `allowInPage`). */
interface PagePolicy {
  nonce: string | null;
  extra: Map<string, Set<string>>;
}

declare module 'hono' {
  interface ContextVariableMap {
    pagePolicy: PagePolicy;
  }
}

/** Two years, with subdomains: the value hstspreload.org asks for (no `preload` here: opt-in). */
export const HSTS = 'max-age=63072000; includeSubDomains';

/** JSON, redirects and errors load nothing and may be framed by nobody. */
export const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * HTML pages: same-origin resources, scripts only from this origin or carrying the response's
 * nonce, never inline script or eval (no 'unsafe-inline', no 'unsafe-eval').
 */
const PAGE_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** Sources a page may never be granted: they would reopen inline-script injection. */
const REFUSED_SOURCES = new Set(["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", '*']);

/**
 * On every response: nosniff, no referrer, no framing, a CSP that fits the content type, and
 * HSTS in production. Mounted first, so even a refused (misconfigured) request carries them.
 */
export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  c.set('pagePolicy', { nonce: null, extra: new Map() });
  await next();
  const headers = c.res.headers;
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Referrer-Policy', 'no-referrer');
  headers.set('X-Frame-Options', 'DENY');
  const isHTML = /^text\/html\b/i.test(headers.get('Content-Type') ?? '');
  // Served images (avatars) are also sandboxed: opened as a document, they still run nothing.
  const isImage = /^image\//i.test(headers.get('Content-Type') ?? '');
  headers.set(
    'Content-Security-Policy',
    isHTML ? pageCSP(c.var.pagePolicy) : isImage ? `${API_CSP}; sandbox` : API_CSP,
  );
  // The schema's default is production: an unset ENVIRONMENT is treated as one.
  if ((c.env.ENVIRONMENT?.trim() || 'production') === 'production') {
    headers.set('Strict-Transport-Security', HSTS);
  }
});

/**
 * The nonce of this response's CSP, for `<script nonce="…">` and `<style nonce="…">` in an
 * HTML page (the /docs page). 128 random bits, new per response.
 */
export function cspNonce(c: Context<AppEnv>): string {
  const policy = c.var.pagePolicy;
  policy.nonce ??= encodeBase64url(c.var.deps.random.bytes(16));
  return policy.nonce;
}

/**
 * Grants this response's HTML page more sources, e.g. `allowInPage(c, 'script-src',
 * 'https://cdn.jsdelivr.net')` for a pinned documentation bundle. Inline script stays refused.
 */
export function allowInPage(c: Context<AppEnv>, directive: string, ...sources: string[]): void {
  if (!(directive in PAGE_DIRECTIVES)) throw new Error(`unknown CSP directive ${directive}`);
  for (const source of sources) {
    if (REFUSED_SOURCES.has(source)) throw new Error(`CSP source ${source} is not allowed`);
  }
  const extra = c.var.pagePolicy.extra;
  const set = extra.get(directive) ?? new Set<string>();
  for (const source of sources) set.add(source);
  extra.set(directive, set);
}

function pageCSP(policy: PagePolicy): string {
  return Object.entries(PAGE_DIRECTIVES)
    .map(([directive, base]) => {
      const sources = [
        ...base.filter((s) => s !== "'none'" || !policy.extra.has(directive)),
        ...(policy.extra.get(directive) ?? []),
      ];
      if (policy.nonce !== null && (directive === 'script-src' || directive === 'style-src')) {
        sources.push(`'nonce-${policy.nonce}'`);
      }
      return `${directive} ${sources.join(' ')}`;
    })
    .join('; ');
}
