import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { credentialTimingFloor } from '../../http/timing-floor.ts';
import { requestEmailOTP, verifyEmailOTP } from '../email/otp.ts';
import type { Tenant } from '../tenants/context.ts';
import { describeAppError, loadPageTenant, readPagePost, signedInRedirect } from './form.ts';
import {
  field,
  hiddenFields,
  pageLink,
  pagePrefix,
  renderPage,
  type FieldError,
} from './layout.ts';
import { startMfaStep } from './mfa.ts';
import { safeReturnTo } from './return-to.ts';

export const emailCodePages = new Hono<AppEnv>();

function disabled(c: Context<AppEnv>, tenant: Tenant): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Not available',
    status: 404,
    body: html`<p>
      Sign-in codes by email are not offered here.
      <a href="${pageLink(c, '/login', null)}">Sign in</a>.
    </p>`,
  });
}

function renderRequest(
  c: Context<AppEnv>,
  tenant: Tenant,
  returnTo: string | null,
  errors: FieldError[] = [],
): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Sign in with a code',
    status: errors.length > 0 ? 400 : 200,
    errors,
    body: html`<form method="post" action="${pagePrefix(c)}/email-code" novalidate>
        ${hiddenFields(c, returnTo)}<input type="hidden" name="step" value="request" />
        ${field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'email' }, errors)}
        <div class="actions"><button type="submit">Email me a code</button></div>
      </form>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', returnTo)}">Sign in with a password</a></li>
      </ul>`,
  });
}

function renderCode(
  c: Context<AppEnv>,
  tenant: Tenant,
  email: string,
  returnTo: string | null,
  errors: FieldError[] = [],
  status: 200 | 400 | 401 | 429 = 200,
): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Enter your code',
    status,
    errors,
    body: html`<p role="status">
        If an account exists for <strong>${email}</strong>, we have emailed it a 6-digit code.
      </p>
      <form method="post" action="${pagePrefix(c)}/email-code" novalidate>
        ${hiddenFields(c, returnTo)}<input type="hidden" name="step" value="verify" /><input
          type="hidden"
          name="email"
          value="${email}"
        />
        ${field({ name: 'code', label: 'Code', autocomplete: 'one-time-code', inputmode: 'numeric' }, errors)}
        <div class="actions"><button type="submit">Sign in</button></div>
      </form>
      <ul class="links">
        <li><a href="${pageLink(c, '/email-code', returnTo)}">Use another address</a></li>
      </ul>`,
  });
}

emailCodePages.get('/email-code', async (c) => {
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  if (!loaded.tenant.settings.mail.otp_sign_in_enabled) return disabled(c, loaded.tenant);
  return renderRequest(c, loaded.tenant, safeReturnTo(c.req.query('return_to')));
});

emailCodePages.post('/email-code', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const { deps, tenantScope } = c.var;
  const email = (form.email ?? '').trim();
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  const tenant = loaded.tenant;
  if (!tenant.settings.mail.otp_sign_in_enabled) return disabled(c, tenant);
  if (email === '' || email.length > 254)
    return renderRequest(c, tenant, returnTo, [
      { field: 'email', message: 'Enter your email address.' },
    ]);
  if (form.step !== 'verify') {
    try {
      await requestEmailOTP(deps, tenantScope, { email }, clientInfo(c));
    } catch (error) {
      // The same page either way: it must not tell whether the address has an account.
      if (!(error instanceof AppError && error.code === 'rate_limited')) throw error;
    }
    return renderCode(c, tenant, email, returnTo);
  }
  const code = (form.code ?? '').trim();
  if (code === '' || code.length > 32)
    return renderCode(
      c,
      tenant,
      email,
      returnTo,
      [{ field: 'code', message: 'Enter the code.' }],
      400,
    );
  try {
    const result = await verifyEmailOTP(deps, tenantScope, { email, code }, clientInfo(c));
    if ('mfa_required' in result) return startMfaStep(c, result, returnTo);
    return signedInRedirect(c, result, returnTo);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const status = error.code === 'rate_limited' ? 429 : 401;
    return renderCode(
      c,
      tenant,
      email,
      returnTo,
      [{ field: 'code', message: describeAppError(error) }],
      status,
    );
  }
});
