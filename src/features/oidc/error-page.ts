import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../app-env.ts';
import { renderPage } from '../pages/layout.ts';

/**
 * The page for an authorization request that cannot be sent back to the application (unknown
 * client, unregistered redirect URI, a logout hint we cannot trust): a redirect there would be an
 * open redirect (RFC 6749 §4.1.2.1). Drawn in the hosted pages' layout and the tenant's branding
 * when the tenant was loaded; the error is announced (role="alert") and never redirected.
 */
export function renderErrorPage(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  description: string,
): Promise<Response> {
  return renderPage(c, c.var.tenantScope?.tenant ?? null, {
    title: 'This request cannot be completed',
    status,
    errors: [{ message: description }],
    body: html`<p>Error code: <code>${code}</code></p>
      <p>Go back to the application you came from and try again.</p>`,
  });
}
