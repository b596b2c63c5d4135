import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { assertOriginAllowed, isAllowedOrigin } from '../../http/cors.ts';
import { publicUser } from '../accounts/service.ts';
import { verifyAccessToken } from '../tokens/service.ts';
import { clearSessionCookie, readSessionCookie } from './cookie.ts';
import {
  authenticate,
  listSessions,
  logout,
  revokeOtherSessions,
  revokeSession,
  type Authenticated,
} from './service.ts';

declare module 'hono' {
  interface ContextVariableMap {
    auth: Authenticated;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/** The access token of `Authorization: Bearer …`, or undefined without the header. */
function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = BEARER.exec(authorization);
  if (match === null)
    throw new AppError('invalid_token', 'expected Authorization: Bearer <access token>');
  return match[1]!;
}

/**
 * Loads the session (one round trip): the cookie's, or the one a bearer access token names (token
 * mode, for SPAs without cookies; the token is verified first and the session must still be
 * live). Cookie writes also check the Origin, the CSRF guard; a bearer token is never sent by the
 * browser on its own, so a foreign page cannot ride it and no Origin check is needed.
 */
export async function requestSession(
  c: Context<AppEnv>,
  options: { write: boolean },
): Promise<Authenticated> {
  const { deps, tenantScope } = c.var;
  const bearer = bearerToken(c.req.header('Authorization'));
  if (bearer !== undefined) {
    const claims = await verifyAccessToken(deps, tenantScope, bearer);
    return authenticate(deps, tenantScope, { sessionId: String(claims.sid) });
  }
  const auth = await authenticate(
    deps,
    tenantScope,
    readSessionCookie(c, deps.config, tenantScope.ref),
  );
  if (options.write)
    assertOriginAllowed(c.req.header('Origin'), new URL(c.req.url), deps.config, auth.tenant);
  return auth;
}

/** `requestSession` as middleware: the session in `c.var.auth`. */
export function requireSession(options: { write: boolean }) {
  return createMiddleware<AppEnv & { Variables: { auth: Authenticated } }>(async (c, next) => {
    c.set('auth', await requestSession(c as unknown as Context<AppEnv>, options));
    await next();
  });
}

function sessionView(auth: Authenticated) {
  const s = auth.session;
  return {
    id: s.id,
    created_at: s.createdAt.toISOString(),
    last_seen_at: s.lastSeenAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
    idle_expires_at: s.idleExpiresAt.toISOString(),
    active_organization_id: s.activeOrganizationId,
    role: s.role,
  };
}

export const sessionRoutes = new Hono<AppEnv>();

/**
 * Who is signed in. With a cookie: one round trip. With `Authorization: Bearer <access token>`:
 * none once the tenant's public keys are cached; the answer then comes from the token's claims.
 */
sessionRoutes.get('/v1/auth/session', async (c) => {
  const { deps, tenantScope } = c.var;
  const authorization = c.req.header('Authorization');
  if (authorization !== undefined) {
    const claims = await verifyAccessToken(deps, tenantScope, bearerToken(authorization)!);
    return c.json({
      user: { id: claims.sub, email: claims.email, email_verified: claims.email_verified },
      session: { id: claims.sid, active_organization_id: claims.org, role: claims.role },
      token: { expires_at: new Date((claims.exp ?? 0) * 1000).toISOString() },
    });
  }
  const auth = await authenticate(
    deps,
    tenantScope,
    readSessionCookie(c, deps.config, tenantScope.ref),
  );
  return c.json({ user: publicUser(auth.user), session: sessionView(auth) });
});

sessionRoutes.post('/v1/auth/logout', async (c) => {
  const { deps, tenantScope } = c.var;
  const origin = c.req.header('Origin');
  const url = new URL(c.req.url);
  // Origins known without the tenant row pass here; others are checked against it in the query.
  if (origin === 'null')
    throw new AppError('origin_not_allowed', 'this origin may not act with the session cookie');
  const originToCheck =
    origin === undefined || isAllowedOrigin(origin, url, deps.config, null) ? null : origin;
  await logout(
    deps,
    tenantScope,
    readSessionCookie(c, deps.config, tenantScope.ref),
    originToCheck,
    clientInfo(c),
  );
  clearSessionCookie(c, deps.config, tenantScope.ref);
  return c.json({ status: 'signed_out' });
});

sessionRoutes.get('/v1/auth/sessions', requireSession({ write: false }), async (c) => {
  const sessions = await listSessions(c.var.deps, c.var.auth);
  return c.json({
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === c.var.auth.session.id,
      created_at: s.createdAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      expires_at: s.expiresAt.toISOString(),
      ip: s.ip,
      user_agent: s.userAgent,
    })),
  });
});

sessionRoutes.delete('/v1/auth/sessions/:id', requireSession({ write: true }), async (c) => {
  const id = c.req.param('id');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    throw new AppError('not_found', 'no such session');
  }
  await revokeSession(c.var.deps, c.var.auth, id, clientInfo(c));
  if (id === c.var.auth.session.id) clearSessionCookie(c, c.var.deps.config, c.var.tenantScope.ref);
  return c.json({ status: 'revoked' });
});

sessionRoutes.post(
  '/v1/auth/sessions/revoke-others',
  requireSession({ write: true }),
  async (c) => {
    const revoked = await revokeOtherSessions(c.var.deps, c.var.auth, clientInfo(c));
    return c.json({ revoked });
  },
);
