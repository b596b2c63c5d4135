import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { clearSessionCookie, readSessionCookie } from '../sessions/cookie.ts';
import { renderErrorPage } from './error-page.ts';
import { parseParams, readForm, type Params } from './form.ts';
import { rpLogout } from './logout-service.ts';

export const logoutRoutes = new Hono<AppEnv>();

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escape = (text: string): string => text.replace(/[&<>"]/g, (ch) => ESCAPES[ch]!);

/** The question asked when no ID token hint vouches for the request: a same-origin form post. */
function confirmPage(c: Context<AppEnv>, params: Params): Response {
  const hidden = [...params]
    .filter(([name]) => ['client_id', 'post_logout_redirect_uri', 'state'].includes(name))
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join('');
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>` +
      `<body><main><h1>Sign out?</h1><form method="post">${hidden}` +
      `<input type="hidden" name="confirm" value="yes"><button type="submit">Sign out</button>` +
      `</form></main></body></html>`,
  );
}

async function answerLogout(c: Context<AppEnv>, params: Params): Promise<Response> {
  const { deps, tenantScope } = c.var;
  c.header('Cache-Control', 'no-store');
  // A confirmation counts only from our own page: a same-origin POST (Origin is sent on POST).
  const confirmed =
    c.req.method === 'POST' &&
    params.get('confirm') === 'yes' &&
    c.req.header('Origin') === new URL(c.req.url).origin;
  const outcome = await rpLogout(deps, tenantScope, params, {
    sessionToken: readSessionCookie(c, deps.config, tenantScope.ref),
    confirmed,
    info: clientInfo(c),
  });
  if (outcome.kind === 'page') return renderErrorPage(c, 400, outcome.code, outcome.description);
  if (outcome.kind === 'confirm') return confirmPage(c, params);
  clearSessionCookie(c, deps.config, tenantScope.ref);
  return c.redirect(outcome.location, 303);
}

logoutRoutes.get('/oauth2/logout', (c) => answerLogout(c, parseParams(new URL(c.req.url).search)));
logoutRoutes.post('/oauth2/logout', async (c) => answerLogout(c, await readForm(c)));
