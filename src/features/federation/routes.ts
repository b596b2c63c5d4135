import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { clearFlowCookie, readFlowCookie, setFlowCookie } from '../pages/flow-cookie.ts';
import { startMfaStep } from '../pages/mfa.ts';
import { writeSessionCookie } from '../sessions/cookie.ts';
import { requireSession } from '../sessions/routes.ts';
import { readSessionCookie } from '../sessions/cookie.ts';
import { issuerURL } from '../tenants/context.ts';
import { PROVIDER_NAME } from './admin-service.ts';
import { listIdentities, unlinkIdentity } from './flow-repo.ts';
import { finishCallback } from './callback.ts';
import { STATE_TTL_SECONDS, startFederation } from './start.ts';

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/** The callback URL registered at the provider: `{issuer}/v1/auth/oauth/{provider}/callback`. */
function registeredCallback(c: Context<AppEnv>, provider: string): string {
  const slug = c.var.tenantSlug;
  if (slug !== undefined)
    return `${issuerURL(c.var.deps.config, slug)}/v1/auth/oauth/${provider}/callback`;
  // DEFAULT_TENANT or a custom hostname: the root of this host.
  return `${new URL(c.req.url).origin}${c.var.deps.config.basePath}/v1/auth/oauth/${provider}/callback`;
}

function providerParam(c: Context<AppEnv>): string {
  const name = c.req.param('provider') ?? '';
  if (!PROVIDER_NAME.test(name)) throw new AppError('not_found', 'no such identity provider');
  return name;
}

export const federationRoutes = new Hono<AppEnv>();

/**
 * 302 to the provider. `intent=link` needs the session cookie (and a same-site navigation, so a
 * foreign page cannot start a link in the user's name).
 */
federationRoutes.get('/v1/auth/oauth/:provider/start', async (c) => {
  const provider = providerParam(c);
  const { deps, tenantScope } = c.var;
  const intent = c.req.query('intent') ?? 'sign_in';
  if (intent !== 'sign_in' && intent !== 'link')
    throw new AppError('invalid_request', 'intent is sign_in or link');
  if (intent === 'link' && c.req.header('Sec-Fetch-Site') === 'cross-site')
    throw new AppError('origin_not_allowed', 'a link starts from this site only');
  const started = await startFederation(deps, tenantScope, {
    providerName: provider,
    redirectTo: c.req.query('redirect_to') ?? null,
    intent,
    sessionToken:
      intent === 'link' ? (readSessionCookie(c, deps.config, tenantScope.ref) ?? '') : null,
    callbackURL: registeredCallback(c, provider),
  });
  setFlowCookie(c, 'federation', started.browserSecret, STATE_TTL_SECONDS);
  c.header('Cache-Control', 'no-store');
  return c.redirect(started.location.href, 302);
});

federationRoutes.get('/v1/auth/oauth/:provider/callback', async (c) => {
  const provider = providerParam(c);
  const { deps, tenantScope } = c.var;
  const state = c.req.query('state') ?? '';
  const browserSecret = readFlowCookie(c, 'federation') ?? '';
  if (!TOKEN.test(state) || !TOKEN.test(browserSecret))
    throw new AppError('invalid_state', 'unknown, used, expired or foreign sign-in state');
  // Single use either way: the cookie goes with the state it was bound to.
  clearFlowCookie(c, 'federation');
  c.header('Cache-Control', 'no-store');
  const result = await finishCallback(
    deps,
    tenantScope,
    {
      providerName: provider,
      callbackURL: new URL(c.req.url),
      registeredCallbackURL: registeredCallback(c, provider),
      state,
      browserSecret,
    },
    clientInfo(c),
  );
  if (result.kind === 'mfa') return startMfaStep(c, result.answer, null);
  if (result.kind === 'session')
    writeSessionCookie(
      c,
      deps.config,
      tenantScope.ref,
      result.tenant,
      result.token,
      result.expiresAt,
    );
  return c.redirect(result.redirectTo, 303);
});

federationRoutes.get('/v1/auth/identities', requireSession({ write: false }), async (c) => {
  const identities = await listIdentities(c.var.deps.db, c.var.auth.user.id);
  return c.json({
    identities: identities.map((i) => ({
      id: i.id,
      provider: i.provider,
      kind: i.kind,
      email: i.email,
      created_at: i.createdAt.toISOString(),
      last_used_at: i.lastUsedAt?.toISOString() ?? null,
    })),
  });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

federationRoutes.delete('/v1/auth/identities/:id', requireSession({ write: true }), async (c) => {
  const id = c.req.param('id');
  if (!UUID.test(id)) throw new AppError('not_found', 'no such identity');
  const { deps, auth } = c.var;
  const outcome = await unlinkIdentity(deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    identityId: id,
    now: deps.clock.now(),
    client: clientInfo(c),
  });
  if (outcome === 'missing') throw new AppError('not_found', 'no such identity');
  if (outcome === 'last')
    throw new AppError(
      'last_sign_in_method',
      'this is your last way to sign in: add a password, passkey or another provider first',
    );
  return c.json({ status: 'unlinked' as const });
});
