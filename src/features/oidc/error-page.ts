import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../app-env.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * The page for an authorization request that cannot be sent back to the application (unknown
 * client, unregistered redirect URI, a logout hint we cannot trust): a redirect there would be an
 * open redirect (RFC 6749 §4.1.2.1). Minimal until the hosted pages' layout replaces this body at
 * merge; the signature is the contract. No inline script or style: the page CSP applies.
 */
export function renderErrorPage(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  description: string,
): Response {
  c.header('Cache-Control', 'no-store');
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Request refused</title>` +
      `<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>` +
      `<h1>This request cannot be completed</h1><p role="alert">${escapeHTML(description)}</p>` +
      `<p>Error code: <code>${escapeHTML(code)}</code></p></main></body></html>`,
    status,
  );
}
