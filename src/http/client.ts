import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { clientIP } from '../features/ratelimit/client-ip.ts';
import type { ClientInfo } from '../features/sessions/service.ts';

/**
 * The client as Cloudflare's edge saw it: CF-Connecting-IP, or the X-Forwarded-For entry our own
 * proxies vouch for when TRUSTED_PROXY_HOPS says there are some (see `clientIP`).
 */
export function clientInfo<E extends AppEnv>(c: Context<E>): ClientInfo {
  return {
    ip: clientIP(c.req.raw.headers, (c.var as AppEnv['Variables']).deps.config.trustedProxyHops),
    userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
  };
}
