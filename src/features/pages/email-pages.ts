import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { credentialTimingFloor } from '../../http/timing-floor.ts';
import { resetPassword, requestPasswordReset, verifyEmail } from '../email/service.ts';
import type { Tenant } from '../tenants/context.ts';
import { clearFlowCookie, readFlowCookie, setFlowCookie, type FlowCookie } from './flow-cookie.ts';
import { describeAppError, loadPageTenant, readPagePost } from './form.ts';
import {
  field,
  hiddenFields,
  pageLink,
  pagePrefix,
  renderPage,
  type FieldError,
} from './layout.ts';
import { safeReturnTo } from './return-to.ts';

export const emailPages = new Hono<AppEnv>();

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/**
 * A mailed link `…/reset-password?token=…` (or verify-email) works without JavaScript: its GET
 * moves the token into a short-lived HttpOnly cookie and 303s to the bare path, so the token is
 * in no later URL, Referer (Referrer-Policy: no-referrer anyway) or log line (the request log
 * records the path only). Nothing is consumed by a GET: mail scanners that follow links are
 * harmless; the user's POST uses the token.
 */
function takeTokenFromLink(c: Context<AppEnv>, kind: FlowCookie, path: string): Response | null {
  const token = c.req.query('token');
  if (token === undefined) return null;
  if (TOKEN.test(token)) setFlowCookie(c, kind, token, 3600);
  return c.redirect(`${pagePrefix(c)}${path}`, 303);
}

function linkExpired(c: Context<AppEnv>, tenant: Tenant, kind: FlowCookie): Promise<Response> {
  clearFlowCookie(c, kind);
  const again = kind === 'reset' ? '/forgot-password' : '/login';
  return renderPage(c, tenant, {
    title: 'This link has expired',
    status: 400,
    errors: [{ message: 'The link is invalid, expired or already used.' }],
    body: html`<ul class="links">
      <li>
        <a href="${pageLink(c, again, null)}"
          >${kind === 'reset' ? 'Ask for a new link' : 'Sign in'}</a
        >
      </li>
    </ul>`,
  });
}

// Forgot password ----------------------------------------------------------------------------

function renderForgot(
  c: Context<AppEnv>,
  tenant: Tenant,
  returnTo: string | null,
  errors: FieldError[] = [],
): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Reset your password',
    status: errors.length > 0 ? 400 : 200,
    errors,
    body: html`<p>
        Enter the email address of your account and we will send you a link to choose a new
        password.
      </p>
      <form method="post" action="${pagePrefix(c)}/forgot-password" novalidate>
        ${hiddenFields(c, returnTo)}
        ${field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'email' }, errors)}
        <div class="actions"><button type="submit">Send the link</button></div>
      </form>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', returnTo)}">Back to sign in</a></li>
      </ul>`,
  });
}

emailPages.get('/forgot-password', async (c) => {
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  return renderForgot(c, loaded.tenant, safeReturnTo(c.req.query('return_to')));
});

emailPages.post('/forgot-password', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const email = (form.email ?? '').trim();
  if (email === '' || email.length > 254) {
    const loaded = await loadPageTenant(c);
    if ('missing' in loaded) return loaded.missing;
    return renderForgot(c, loaded.tenant, returnTo, [
      { field: 'email', message: 'Enter your email address.' },
    ]);
  }
  try {
    await requestPasswordReset(c.var.deps, c.var.tenantScope, { email }, clientInfo(c));
  } catch (error) {
    // Over the limit: the same answer, so the page does not tell who exists.
    if (!(error instanceof AppError && error.code === 'rate_limited')) throw error;
  }
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  return renderPage(c, loaded.tenant, {
    title: 'Check your email',
    body: html`<p role="status">
        If an account exists for this address, a mail with a link is on its way to it.
      </p>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', returnTo)}">Back to sign in</a></li>
      </ul>`,
  });
});

// Reset password -----------------------------------------------------------------------------

function renderReset(
  c: Context<AppEnv>,
  tenant: Tenant,
  errors: FieldError[] = [],
  status: 200 | 400 | 429 = 200,
): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Choose a new password',
    status,
    errors,
    body: html`<form method="post" action="${pagePrefix(c)}/reset-password" novalidate>
      ${hiddenFields(c, null)}
      ${field({ name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: `At least ${tenant.settings.passwordPolicy.minLength} characters.` }, errors)}
      <div class="actions"><button type="submit">Change password</button></div>
    </form>`,
  });
}

emailPages.get('/reset-password', async (c) => {
  const moved = takeTokenFromLink(c, 'reset', '/reset-password');
  if (moved !== null) return moved;
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  if (readFlowCookie(c, 'reset') === undefined) return linkExpired(c, loaded.tenant, 'reset');
  return renderReset(c, loaded.tenant);
});

emailPages.post('/reset-password', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form } = read.post;
  const token = readFlowCookie(c, 'reset');
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  const tenant = loaded.tenant;
  if (token === undefined) return linkExpired(c, tenant, 'reset');
  const password = form.new_password ?? '';
  if (password === '' || password.length > 1024)
    return renderReset(
      c,
      tenant,
      [{ field: 'new_password', message: 'Enter a new password.' }],
      400,
    );
  try {
    await resetPassword(
      c.var.deps,
      c.var.tenantScope,
      { token, new_password: password },
      clientInfo(c),
    );
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    if (error.code === 'invalid_reset_token') return linkExpired(c, tenant, 'reset');
    const status = error.code === 'rate_limited' ? 429 : 400;
    return renderReset(
      c,
      tenant,
      [{ field: 'new_password', message: describeAppError(error) }],
      status,
    );
  }
  clearFlowCookie(c, 'reset');
  return renderPage(c, tenant, {
    title: 'Your password has been changed',
    body: html`<p role="status">
        You have been signed out everywhere. Sign in with your new password.
      </p>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', null)}">Sign in</a></li>
      </ul>`,
  });
});

// Verify email -------------------------------------------------------------------------------

emailPages.get('/verify-email', async (c) => {
  const moved = takeTokenFromLink(c, 'verify', '/verify-email');
  if (moved !== null) return moved;
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  if (readFlowCookie(c, 'verify') === undefined) return linkExpired(c, loaded.tenant, 'verify');
  // A button, not an automatic POST: a mail scanner that opens the link consumes nothing.
  return renderPage(c, loaded.tenant, {
    title: 'Verify your email address',
    body: html`<form method="post" action="${pagePrefix(c)}/verify-email">
      ${hiddenFields(c, null)}
      <div class="actions"><button type="submit">Verify my email address</button></div>
    </form>`,
  });
});

emailPages.post('/verify-email', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const token = readFlowCookie(c, 'verify');
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  if (token === undefined) return linkExpired(c, loaded.tenant, 'verify');
  try {
    await verifyEmail(c.var.deps, c.var.tenantScope, token, clientInfo(c));
  } catch (error) {
    if (error instanceof AppError && error.code === 'invalid_verification_token')
      return linkExpired(c, loaded.tenant, 'verify');
    throw error;
  }
  clearFlowCookie(c, 'verify');
  return renderPage(c, loaded.tenant, {
    title: 'Your email address is verified',
    body: html`<ul class="links">
      <li><a href="${pageLink(c, '/login', null)}">Sign in</a></li>
    </ul>`,
  });
});
