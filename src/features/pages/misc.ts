import { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { findTenant } from '../tenants/repo.ts';
import { loadPageTenant } from './form.ts';
import { pageLink, renderPage } from './layout.ts';

export const miscPages = new Hono<AppEnv>();

/** Where a sign-in without an authorize request lands. */
miscPages.get('/signed-in', async (c) => {
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  return renderPage(c, loaded.tenant, {
    title: 'You are signed in',
    body: html`<p>You can close this page and return to the application.</p>`,
  });
});

/** Where logout (RP-initiated, without a registered redirect) leaves the browser. */
miscPages.get('/signed-out', async (c) => {
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  return renderPage(c, loaded.tenant, {
    title: 'You are signed out',
    body: html`<p>You have been signed out.</p>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', null)}">Sign in again</a></li>
      </ul>`,
  });
});

/**
 * The tenant's accent colour as a stylesheet: the page CSP allows no inline style, and the
 * colour is a strict `#rrggbb` (settings schema), so nothing else can reach this CSS. Short
 * cache: a branding change shows within minutes.
 */
miscPages.get('/branding.css', async (c) => {
  const tenant = await findTenant(c.var.deps.db, c.var.tenantScope);
  const accent = tenant?.settings.branding.accent_color;
  const css = accent === undefined ? '' : `:root { --accent: ${accent}; }\n`;
  return c.body(css, tenant === null ? 404 : 200, {
    'Content-Type': 'text/css; charset=utf-8',
    'Cache-Control': 'public, max-age=300',
  });
});
