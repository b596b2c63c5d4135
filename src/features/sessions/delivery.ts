import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import type { Tenant } from '../tenants/context.ts';
import { exchangeSession, type TokenResponse } from '../tokens/service.ts';
import { writeSessionCookie } from './cookie.ts';
import { authenticate } from './service.ts';

/**
 * How a sign-in hands over the new session. `cookie` (default): the HttpOnly session cookie.
 * `token`: no cookie; the answer carries an access and a refresh token instead, for SPAs whose
 * browser blocks third-party cookies (cross-site deployments, Safari, Firefox strict mode).
 */
export const sessionDelivery = z
  .enum(['cookie', 'token'])
  .optional()
  .describe('`token`: answer with access and refresh tokens and set no cookie');

export const deliveredTokensSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
  refresh_token: z.string(),
  refresh_token_expires_in: z.number(),
});

/**
 * Sets the cookie, or (token delivery) mints the first token pair: two round trips more than the
 * cookie (the session check that loads the signing key and claims, then the refresh token insert).
 */
export async function deliverSession(
  c: Context<AppEnv>,
  signedIn: { tenant: Tenant; token: string; expiresAt: Date },
  delivery: 'cookie' | 'token' | undefined,
): Promise<{ tokens?: TokenResponse }> {
  const { deps, tenantScope } = c.var;
  if (delivery !== 'token') {
    writeSessionCookie(
      c,
      deps.config,
      tenantScope.ref,
      signedIn.tenant,
      signedIn.token,
      signedIn.expiresAt,
    );
    return {};
  }
  c.header('Cache-Control', 'no-store');
  const auth = await authenticate(deps, tenantScope, signedIn.token);
  return { tokens: await exchangeSession(deps, auth.tenant, auth.key, auth.session, auth.user) };
}
