import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.ts';
import { openAPIPath } from '../../../src/http/openapi.ts';
import { send } from '../harness.ts';

interface Document {
  openapi: string;
  paths: Record<
    string,
    Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>
  >;
}

function served(): Set<string> {
  const routes = new Set<string>();
  for (const route of createApp().routes) {
    if (route.method === 'ALL') continue; // middleware
    routes.add(`${route.method.toLowerCase()} ${openAPIPath(route.path)}`);
  }
  return routes;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists exactly the routes the app serves, in both directions', async () => {
    const sent = await send('/openapi.json');
    expect(sent.response.status).toBe(200);
    const doc = await sent.json<Document>();
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) documented.add(`${method} ${path}`);
    }
    const routes = served();
    const undocumented = [...routes].filter((route) => !documented.has(route));
    const unserved = [...documented].filter((route) => !routes.has(route));
    expect(undocumented, 'served but not documented').toEqual([]);
    expect(unserved, 'documented but not served').toEqual([]);
  });

  it('describes request bodies with the schemas the handlers validate with', async () => {
    const doc = await (await send('/openapi.json')).json<Document>();
    const register = doc.paths['/v1/auth/register']!.post!;
    expect(register.requestBody).toMatchObject({
      content: {
        'application/json': {
          schema: { type: 'object', required: expect.arrayContaining(['email', 'password']) },
        },
      },
    });
  });

  it('serves an interactive page whose CSP allows no inline script', async () => {
    const page = await send('/docs');
    expect(page.response.status).toBe(200);
    expect(page.response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const csp = page.response.headers.get('Content-Security-Policy')!;
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is an external file
    const script = await send('/docs/app.js');
    expect(script.response.headers.get('Content-Type')).toMatch(/javascript/);
    expect(await script.response.text()).toContain("fetch(new URL('openapi.json'");
  });
});
