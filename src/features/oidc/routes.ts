import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { readSessionCookie } from '../sessions/cookie.ts';
import { introspect, revoke, userinfo } from './access-service.ts';
import { authorize } from './authorize-service.ts';
import { discoveryDocument } from './discovery.ts';
import { renderErrorPage } from './error-page.ts';
import { parseParams, readForm, type Params } from './form.ts';
import { logoutRoutes } from './logout-routes.ts';
import { issueToken } from './token-service.ts';

/**
 * The OpenID Connect provider endpoints of a tenant. Design decisions, for the record:
 * - An OIDC grant (the authorization code's row) is bound to the SSO session it came from: its
 *   refresh tokens are in that session's family, so signing out of the browser ends the grant,
 *   `offline_access` included. Simple, and what a user who signs out expects.
 * - A refresh token knows its client (`refresh_tokens.client_id`): client B cannot use client
 *   A's, and the JSON API's /v1/auth/token and this token endpoint refuse each other's tokens.
 * - Access tokens are JWTs bound to the client (`aud` = `client_id`) carrying the grant's id
 *   (`gid`), so revocation, introspection and userinfo can see a revoked grant.
 */
export const oidcRoutes = new Hono<AppEnv>();

function noStore(c: Context<AppEnv>): void {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
}

oidcRoutes.get('/.well-known/openid-configuration', async (c) => {
  const document = await discoveryDocument(c.var.deps, c.var.tenantScope);
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(document);
});

async function answerAuthorize(c: Context<AppEnv>, params: Params): Promise<Response> {
  const { deps, tenantScope } = c.var;
  noStore(c);
  const outcome = await authorize(
    deps,
    tenantScope,
    params,
    readSessionCookie(c, deps.config, tenantScope.ref),
    clientInfo(c),
  );
  if (outcome.kind === 'page') {
    return renderErrorPage(c, outcome.status, outcome.code, outcome.description);
  }
  return c.redirect(outcome.location, 302);
}

/** A request we cannot even parse has no trustworthy redirect URI: a page, like a bad client. */
async function authorizeParams(
  c: Context<AppEnv>,
  read: () => Params | Promise<Params>,
): Promise<Response> {
  let params: Params;
  try {
    params = await read();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    noStore(c);
    return renderErrorPage(c, 400, error.code, 'The authorization request is malformed.');
  }
  return answerAuthorize(c, params);
}

oidcRoutes.get('/oauth2/authorize', (c) =>
  authorizeParams(c, () => parseParams(new URL(c.req.url).search)),
);
// OIDC Core §3.1.2.1: the same request as a form post.
oidcRoutes.post('/oauth2/authorize', (c) => authorizeParams(c, () => readForm(c)));

oidcRoutes.post('/oauth2/token', async (c) => {
  noStore(c);
  const params = await readForm(c);
  const { deps, tenantScope } = c.var;
  return c.json(
    await issueToken(deps, tenantScope, params, c.req.header('Authorization'), clientInfo(c)),
  );
});

/** RFC 6750 §2.1 header, or §2.2 form body (POST); never the query (it would be logged). */
async function bearerToken(c: Context<AppEnv>): Promise<string | null> {
  const header = c.req.header('Authorization');
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    return match === null ? null : match[1]!;
  }
  if (
    c.req.method === 'POST' &&
    /^application\/x-www-form-urlencoded/i.test(c.req.header('Content-Type') ?? '')
  ) {
    return (await readForm(c)).get('access_token') ?? null;
  }
  return null;
}

const userinfoHandler = async (c: Context<AppEnv>): Promise<Response> => {
  noStore(c);
  const claims = await userinfo(c.var.deps, c.var.tenantScope, await bearerToken(c));
  return c.json(claims);
};
oidcRoutes.get('/oauth2/userinfo', userinfoHandler);
oidcRoutes.post('/oauth2/userinfo', userinfoHandler);

oidcRoutes.post('/oauth2/introspect', async (c) => {
  noStore(c);
  const params = await readForm(c);
  return c.json(
    await introspect(c.var.deps, c.var.tenantScope, params, c.req.header('Authorization')),
  );
});

oidcRoutes.post('/oauth2/revoke', async (c) => {
  noStore(c);
  const params = await readForm(c);
  await revoke(c.var.deps, c.var.tenantScope, params, c.req.header('Authorization'), clientInfo(c));
  return c.body(null, 200);
});

oidcRoutes.route('/', logoutRoutes);
