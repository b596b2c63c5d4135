import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { buildOpenAPIDocument, type RouteDoc } from '../../http/openapi.ts';
import { DOCS_CSS, DOCS_HTML, DOCS_JS } from './page.ts';

/** Serves /openapi.json (from every feature's route docs) and the /docs reference page. */
export function docsRoutes(routeDocs: () => RouteDoc[]): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  let cached: { key: string; body: Record<string, unknown> } | undefined;

  routes.get('/openapi.json', (c) => {
    const { config } = c.var.deps;
    const serverURL = `${config.publicBaseURL.origin}${config.basePath}`;
    // The document depends only on code and PUBLIC_BASE_URL: build it once per isolate.
    if (cached?.key !== serverURL)
      cached = { key: serverURL, body: buildOpenAPIDocument(routeDocs(), { serverURL }) };
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(cached.body);
  });
  routes.get('/docs', (c) => c.html(DOCS_HTML));
  routes.get('/docs/app.js', (c) =>
    c.body(DOCS_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  routes.get('/docs/app.css', (c) =>
    c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }),
  );
  return routes;
}

export const docsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document (OpenAPI 3.1)',
    tag: 'reference',
    auth: 'none',
    responses: { 200: { description: 'the document' } },
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'Interactive reference page',
    tag: 'reference',
    auth: 'none',
    responses: { 200: { description: 'HTML', mediaType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/docs/app.js',
    summary: 'Script of the reference page',
    tag: 'reference',
    auth: 'none',
    responses: { 200: { description: 'JavaScript' } },
  },
  {
    method: 'get',
    path: '/docs/app.css',
    summary: 'Style of the reference page',
    tag: 'reference',
    auth: 'none',
    responses: { 200: { description: 'CSS' } },
  },
];
