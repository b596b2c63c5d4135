import type { Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { MAX_BODY_BYTES } from '../../http/json.ts';
import { hasForbiddenCharacters } from '../../http/text.ts';
import { writeSessionCookie } from '../sessions/cookie.ts';
import { findTenant } from '../tenants/repo.ts';
import type { Tenant } from '../tenants/context.ts';
import { isCsrfValid } from './csrf.ts';
import { pagePrefix, renderPage } from './layout.ts';
import { safeReturnTo } from './return-to.ts';

/**
 * A form body as plain strings (files and repeated fields dropped), within the API's body limit
 * and the text rule. A body that breaks either is refused before anything reads it.
 */
export async function readForm(
  c: Context<AppEnv>,
  /** Fields (textareas) whose values may hold line breaks; every other control character is refused. */
  multiline: readonly string[] = [],
): Promise<Record<string, string>> {
  if (Number(c.req.header('Content-Length') ?? '0') > MAX_BODY_BYTES)
    throw new AppError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type))
    throw new AppError(
      'unsupported_media_type',
      'send the form as application/x-www-form-urlencoded',
    );
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES)
    throw new AppError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const form: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const checked = multiline.includes(name) ? value.replace(/\r?\n/g, '') : value;
    if (hasForbiddenCharacters(name) || hasForbiddenCharacters(checked))
      throw new AppError('invalid_characters', 'control characters are not allowed');
    if (!(name in form)) form[name] = value;
  }
  return form;
}

export interface PagePost {
  form: Record<string, string>;
  returnTo: string | null;
}

/**
 * Reads a hosted form's POST and refuses a cross-site one (Origin, double-submit token) with a
 * 403 page before any service runs, so a forged form writes nothing. Null: the refusal was sent.
 */
export async function readPagePost(
  c: Context<AppEnv>,
): Promise<{ post: PagePost } | { refused: Response }> {
  const form = await readForm(c);
  if (!isCsrfValid(c, form)) {
    const tenant = await findTenant(c.var.deps.db, c.var.tenantScope).catch(() => null);
    return {
      refused: await renderPage(c, tenant, {
        title: 'This form has expired',
        status: 403,
        errors: [
          { message: 'The form could not be verified. Go back, reload the page and try again.' },
        ],
        body: html`<p>For your security, forms are only accepted from this site's own pages.</p>`,
      }),
    };
  }
  return { post: { form, returnTo: safeReturnTo(form.return_to) } };
}

/** The tenant for a GET page (one round trip), or a 404 page. */
export async function loadPageTenant(
  c: Context<AppEnv>,
): Promise<{ tenant: Tenant } | { missing: Response }> {
  const tenant = await findTenant(c.var.deps.db, c.var.tenantScope);
  if (tenant !== null) return { tenant };
  return {
    missing: await renderPage(c, null, {
      title: 'Not found',
      status: 404,
      body: html`<p>There is nothing at this address.</p>`,
    }),
  };
}

/**
 * The end of every sign-in on the pages (password, MFA step, sign-up, email code): the session
 * cookie the JSON API sets, then 303 to `return_to` (authorize) or the signed-in page.
 */
export function signedInRedirect(
  c: Context<AppEnv>,
  signedIn: { tenant: Tenant; token: string; expiresAt: Date },
  returnTo: string | null,
): Response {
  const { config } = c.var.deps;
  const { tenant, token, expiresAt } = signedIn;
  writeSessionCookie(c, config, c.var.tenantScope.ref, tenant, token, expiresAt);
  return c.redirect(nextURL(pagePrefix(c), returnTo), 303);
}

/** Where a signed-in browser goes next: back into authorize, else the signed-in page. */
export function nextURL(prefix: string, returnTo: string | null): string {
  return returnTo === null ? `${prefix}/signed-in` : `${prefix}${returnTo}`;
}

/** A human sentence for an error a service threw; the code stays in the status. */
export function describeAppError(error: AppError): string {
  switch (error.code) {
    case 'rate_limited':
      return 'Too many attempts. Wait a few minutes and try again.';
    case 'invalid_credentials':
      return 'The email or password is wrong.';
    case 'email_not_verified':
      return 'Verify your email address before signing in. We have sent you a new link if we could.';
    case 'invalid_code':
      return 'The code is wrong or has expired.';
    case 'code_reused':
      return 'This code was already used. Wait for the next one.';
    case 'factor_locked':
      return 'Too many wrong codes. Wait a few minutes and try again.';
    case 'email_taken':
      return 'An account with this email already exists. Sign in instead.';
    case 'registration_closed':
      return 'Registration is closed.';
    default:
      // Password-policy refusals and the like carry a user-facing description already.
      return error.message;
  }
}
