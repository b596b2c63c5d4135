import type { Context } from 'hono';
import type { ClientInfo } from '../features/sessions/service.ts';

/** The client as Cloudflare's edge saw it. Forwarded-for headers are not trusted here. */
export function clientInfo(c: Context): ClientInfo {
  return {
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
  };
}
