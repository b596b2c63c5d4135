import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { findClient, type OAuthClient } from '../clients/repo.ts';
import { upsertConsent } from '../oidc/consent-repo.ts';
import { readSessionCookie } from '../sessions/cookie.ts';
import { authenticate, type Authenticated } from '../sessions/service.ts';
import type { Tenant } from '../tenants/context.ts';
import { readPagePost } from './form.ts';
import { hiddenFields, pageLink, pagePrefix, renderPage } from './layout.ts';
import { returnToParams, safeReturnTo } from './return-to.ts';

export const consentPages = new Hono<AppEnv>();

/** What each scope lets the application do, in words a user can weigh. */
const SCOPE_TEXT: Record<string, string> = {
  openid: 'Confirm that it is you (your account identifier)',
  profile: 'See your name',
  email: 'See your email address and whether it is verified',
  offline_access: 'Stay connected to your account while you are not using the application',
};

function scopeText(scope: string): string {
  return SCOPE_TEXT[scope] ?? `Use the “${scope}” permission`;
}

/** The signed-in user, or null (no cookie, expired, revoked). */
async function signedIn(c: Context<AppEnv>): Promise<Authenticated | null> {
  const { deps, tenantScope } = c.var;
  try {
    return await authenticate(
      deps,
      tenantScope,
      readSessionCookie(c, deps.config, tenantScope.ref),
    );
  } catch (error) {
    if (error instanceof AppError && error.code === 'unauthorized') return null;
    throw error;
  }
}

/** The requested scopes the client is registered for: only those can be shown and granted. */
function requestedScopes(returnTo: string, client: OAuthClient): string[] {
  const asked = (returnToParams(returnTo).get('scope') ?? '').split(' ').filter((s) => s !== '');
  return [...new Set(asked)].filter((s) => client.scopes.includes(s));
}

function invalid(c: Context<AppEnv>, tenant: Tenant | null): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'This request is not valid',
    status: 400,
    body: html`<p>
      The application sent an authorization request we cannot use. Go back to the application and
      try again.
    </p>`,
  });
}

/** Loads session and client for the authorize request in `return_to`; a Response when it cannot. */
async function prepare(
  c: Context<AppEnv>,
  raw: string | undefined,
): Promise<{ auth: Authenticated; client: OAuthClient; returnTo: string } | { answer: Response }> {
  const returnTo = safeReturnTo(raw);
  const auth = await signedIn(c);
  if (auth === null) return { answer: c.redirect(pageLink(c, '/login', returnTo), 303) };
  const clientId = returnTo === null ? null : returnToParams(returnTo).get('client_id');
  if (returnTo === null || clientId === null || clientId.length > 200)
    return { answer: await invalid(c, auth.tenant) };
  const found = await findClient(c.var.deps.db, c.var.tenantScope, clientId);
  if (found?.client == null) return { answer: await invalid(c, auth.tenant) };
  return { auth, client: found.client, returnTo };
}

consentPages.get('/consent', async (c) => {
  const prepared = await prepare(c, c.req.query('return_to'));
  if ('answer' in prepared) return prepared.answer;
  const { auth, client, returnTo } = prepared;
  const scopes = requestedScopes(returnTo, client);
  return renderPage(c, auth.tenant, {
    title: `Allow ${client.name} to access your account?`,
    body: html`<p>
        You are signed in as <strong>${auth.user.email}</strong>.
        <strong>${client.name}</strong> asks to:
      </p>
      <ul class="scopes">
        ${scopes.map((s) => html`<li>${scopeText(s)}</li>`)}
      </ul>
      <form method="post" action="${pagePrefix(c)}/consent">
        ${hiddenFields(c, returnTo)}
        <div class="actions">
          <button type="submit" name="decision" value="allow">Allow</button>
          <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        </div>
      </form>
      <p class="hint">You can withdraw this permission later in your account settings.</p>`,
  });
});

consentPages.post('/consent', async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form } = read.post;
  const prepared = await prepare(c, form.return_to);
  if ('answer' in prepared) return prepared.answer;
  const { auth, client, returnTo } = prepared;
  const back = `${pagePrefix(c)}${returnTo}`;
  // Authorize answers the client access_denied when it sees consent=denied (contract, hand-off 3).
  if (form.decision !== 'allow') return c.redirect(`${back}&consent=denied`, 303);
  const client_ = clientInfo(c);
  await upsertConsent(c.var.deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    clientInternalId: client.id,
    clientId: client.clientId,
    scopes: requestedScopes(returnTo, client),
    now: c.var.deps.clock.now(),
    ip: client_.ip,
    userAgent: client_.userAgent,
  });
  return c.redirect(back, 303);
});
