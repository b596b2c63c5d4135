import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { encodeHex } from '../../lib/encoding.ts';
import { sha256 } from '../../lib/keys.ts';
import { PAGES_JS } from './generated/pages-js.ts';
import { PAGES_CSS } from './styles.ts';

/** Content-hashed names never change content, so browsers may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface PageAssets {
  css: string;
  js: string;
}

interface Asset {
  body: string;
  type: string;
}

let hashed: Promise<{ names: PageAssets; byName: Map<string, Asset> }> | undefined;

/** The assets' names (`pages.<hash>.css` / `.js`): hashed once per isolate, the content is fixed. */
function assets(): Promise<{ names: PageAssets; byName: Map<string, Asset> }> {
  hashed ??= (async () => {
    const name = async (body: string, ext: string): Promise<string> =>
      `pages.${encodeHex(await sha256(body)).slice(0, 16)}.${ext}`;
    const css = await name(PAGES_CSS, 'css');
    const js = await name(PAGES_JS, 'js');
    return {
      names: { css, js },
      byName: new Map([
        [css, { body: PAGES_CSS, type: 'text/css; charset=utf-8' }],
        [js, { body: PAGES_JS, type: 'text/javascript; charset=utf-8' }],
      ]),
    };
  })();
  return hashed;
}

export async function pageAssetNames(): Promise<PageAssets> {
  return (await assets()).names;
}

/** `{BASE_PATH}/assets/…`: tenant-independent, same-origin, long-cached. */
export const assetRoutes = new Hono<AppEnv>();

assetRoutes.get('/assets/:name', async (c) => {
  const asset = (await assets()).byName.get(c.req.param('name'));
  if (asset === undefined)
    return c.json({ error: 'not_found', error_description: 'no such asset' }, 404);
  return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': IMMUTABLE });
});
