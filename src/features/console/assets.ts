import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { encodeHex } from '../../lib/encoding.ts';
import { sha256 } from '../../lib/keys.ts';
import { CONSOLE_CSS } from './styles.ts';

/** Content-hashed names never change content, so browsers may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

let named: Promise<string> | undefined;

/** `console.<hash>.css`: hashed once per isolate, the content is fixed. No JavaScript at all. */
export function consoleStylesheetName(): Promise<string> {
  named ??= (async () => `console.${encodeHex(await sha256(CONSOLE_CSS)).slice(0, 16)}.css`)();
  return named;
}

/** `{BASE_PATH}/admin/assets/…`: same-origin, long-cached, no database. */
export const consoleAssetRoutes = new Hono<AppEnv>();

consoleAssetRoutes.get('/admin/assets/:name', async (c) => {
  if (c.req.param('name') !== (await consoleStylesheetName()))
    return c.json({ error: 'not_found', error_description: 'no such asset' }, 404);
  return c.body(CONSOLE_CSS, 200, {
    'Content-Type': 'text/css; charset=utf-8',
    'Cache-Control': IMMUTABLE,
  });
});
