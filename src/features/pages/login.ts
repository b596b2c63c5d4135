import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { credentialTimingFloor } from '../../http/timing-floor.ts';
import { loginBody } from '../accounts/routes.ts';
import { login } from '../accounts/service.ts';
import { findTenantWithProviders } from '../federation/flow-repo.ts';
import type { Tenant } from '../tenants/context.ts';
import {
  describeAppError,
  loadPageTenant,
  nextURL,
  readPagePost,
  signedInRedirect,
} from './form.ts';
import {
  field,
  hiddenFields,
  pageLink,
  pagePrefix,
  renderPage,
  type FieldError,
} from './layout.ts';
import { startMfaStep } from './mfa.ts';
import { returnToParams, safeReturnTo } from './return-to.ts';

export const loginPages = new Hono<AppEnv>();

interface LoginForm {
  email: string;
  errors: FieldError[];
  returnTo: string | null;
  notice?: string;
  /** The tenant's enabled identity providers (src/features/federation), as sign-in links. */
  providers?: string[];
}

/** `Sign in with …` links to the federation start endpoint, coming back into authorize if asked. */
function providerLinks(c: Context<AppEnv>, providers: string[], returnTo: string | null) {
  if (providers.length === 0) return '';
  const prefix = pagePrefix(c);
  const next = new URL(nextURL(prefix, returnTo), c.var.deps.config.publicBaseURL).href;
  return html`<ul class="links">
    ${providers.map(
      (name) =>
        html`<li>
          <a href="${prefix}/v1/auth/oauth/${name}/start?redirect_to=${encodeURIComponent(next)}"
            >Sign in with ${PROVIDER_LABELS[name] ?? name}</a
          >
        </li>`,
    )}
  </ul>`;
}

const PROVIDER_LABELS: Record<string, string> = { google: 'Google', github: 'GitHub' };

/** The sign-in form; the passkey button appears only when the module script finds WebAuthn. */
export function renderLogin(
  c: Context<AppEnv>,
  tenant: Tenant,
  form: LoginForm,
  status: 200 | 400 | 401 | 403 | 429 = 200,
): Promise<Response> {
  const prefix = pagePrefix(c);
  const { returnTo, errors } = form;
  const settings = tenant.settings;
  return renderPage(c, tenant, {
    title: 'Sign in',
    status,
    errors,
    script: true,
    body: html`${form.notice === undefined ? '' : html`<p class="notice" role="status">${form.notice}</p>`}
      <form method="post" action="${prefix}/login" novalidate>
        ${hiddenFields(c, returnTo)}
        ${field({ name: 'email', label: 'Email address', type: 'email', value: form.email, autocomplete: 'username webauthn' }, errors)}
        ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' }, errors)}
        <div class="actions"><button type="submit">Sign in</button></div>
      </form>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          hidden
          data-passkey-signin
          data-api="${prefix}/v1/auth/passkeys"
          data-next="${nextURL(prefix, returnTo)}"
          data-status="passkey-status"
        >
          Sign in with a passkey
        </button>
      </div>
      <p class="status" id="passkey-status" role="status"></p>
      ${providerLinks(c, form.providers ?? [], returnTo)}
      <form id="passkey-mfa-form" method="post" action="${prefix}/mfa/start" hidden>
        ${hiddenFields(c, returnTo)}<input type="hidden" name="mfa_token" value="" />
      </form>
      <ul class="links">
        <li><a href="${pageLink(c, '/forgot-password', returnTo)}">Forgot your password?</a></li>
        ${settings.mail.otp_sign_in_enabled ? html`<li><a href="${pageLink(c, '/email-code', returnTo)}">Email me a sign-in code</a></li>` : ''}
        ${settings.registrationEnabled ? html`<li><a href="${pageLink(c, '/register', returnTo)}">Create an account</a></li>` : ''}
      </ul>`,
  });
}

loginPages.get('/login', async (c) => {
  // The tenant and its providers in the page's one round trip.
  const { tenant, providers } = await findTenantWithProviders(c.var.deps.db, c.var.tenantScope.ref);
  c.var.tenantScope.tenant = tenant;
  if (tenant === null) {
    const loaded = await loadPageTenant(c);
    if ('missing' in loaded) return loaded.missing;
  }
  const returnTo = safeReturnTo(c.req.query('return_to'));
  // The authorize request's login_hint (OIDC Core §3.1.2.1) prefills the address.
  const hint = returnToParams(returnTo).get('login_hint') ?? c.req.query('login_hint') ?? '';
  return renderLogin(c, tenant!, { email: hint.slice(0, 254), errors: [], returnTo, providers });
});

loginPages.post('/login', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const { deps, tenantScope } = c.var;
  const email = (form.email ?? '').trim().slice(0, 254);
  const parsed = loginBody.safeParse({ email: form.email, password: form.password });
  if (!parsed.success) {
    const loaded = await loadPageTenant(c);
    if ('missing' in loaded) return loaded.missing;
    const errors: FieldError[] = [];
    if (email === '') errors.push({ field: 'email', message: 'Enter your email address.' });
    if ((form.password ?? '') === '')
      errors.push({ field: 'password', message: 'Enter your password.' });
    if (errors.length === 0)
      errors.push({ field: 'email', message: 'Check the email and password.' });
    return renderLogin(c, loaded.tenant, { email, errors, returnTo }, 400);
  }
  try {
    const result = await login(deps, tenantScope, parsed.data, clientInfo(c));
    if ('mfa_required' in result) return startMfaStep(c, result, returnTo);
    return signedInRedirect(c, result, returnTo);
  } catch (error) {
    const tenant = tenantScope.tenant;
    if (!(error instanceof AppError) || tenant === null) throw error;
    const status =
      error.code === 'rate_limited' ? 429 : error.code === 'email_not_verified' ? 403 : 401;
    const fieldName = error.code === 'invalid_credentials' ? 'password' : undefined;
    return renderLogin(
      c,
      tenant,
      {
        email,
        returnTo,
        errors: [{ field: fieldName ?? 'email', message: describeAppError(error) }],
      },
      status,
    );
  }
});
