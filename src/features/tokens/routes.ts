import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { REFRESH_PER_SESSION } from '../ratelimit/policies.ts';
import { assertOriginAllowed } from '../../http/cors.ts';
import { readSessionCookie } from '../sessions/cookie.ts';
import { authenticate } from '../sessions/service.ts';
import { exchangeSession, publishedKeys, refresh } from './service.ts';

export const tokenBody = z.discriminatedUnion('grant_type', [
  z.object({ grant_type: z.literal('refresh_token'), refresh_token: z.string().min(1).max(512) }),
  z.object({ grant_type: z.literal('session') }),
]);

export const tokenRoutes = new Hono<AppEnv>();

tokenRoutes.post('/v1/auth/token', async (c) => {
  const input = await readJSON(c, tokenBody);
  const { deps, tenantScope } = c.var;
  c.header('Cache-Control', 'no-store');
  if (input.grant_type === 'refresh_token') {
    // Limited per session inside: the token's session is read before anything is written.
    return c.json(await refresh(deps, tenantScope, input.refresh_token, clientInfo(c)));
  }
  const auth = await authenticate(
    deps,
    tenantScope,
    readSessionCookie(c, deps.config, tenantScope.ref),
  );
  assertOriginAllowed(c.req.header('Origin'), new URL(c.req.url), deps.config, auth.tenant);
  await enforce(deps, REFRESH_PER_SESSION.name, auth.session.id, {
    tenant: auth.tenant,
    client: clientInfo(c),
    actor: { type: 'user', id: auth.user.id },
  });
  return c.json(await exchangeSession(deps, auth.tenant, auth.key, auth.session, auth.user));
});

tokenRoutes.get('/.well-known/jwks.json', async (c) => {
  const jwks = await publishedKeys(c.var.deps, c.var.tenantScope);
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(jwks);
});
