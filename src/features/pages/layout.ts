import type { Context } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../app-env.ts';
import { allowInPage } from '../../http/security-headers.ts';
import { currentRequestScope } from '../../request-scope.ts';
import type { Tenant } from '../tenants/context.ts';
import { pageAssetNames } from './assets.ts';
import { CSRF_FIELD, csrfToken } from './csrf.ts';
import { returnToParams } from './return-to.ts';

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

/** One problem to announce: in the error summary, and next to its field when it has one. */
export interface FieldError {
  field?: string;
  message: string;
}

export interface PageView {
  title: string;
  body: Markup;
  errors?: FieldError[];
  status?: ContentfulStatusCode;
  /** Loads the pages' module script (passkey buttons). Forms never depend on it. */
  script?: boolean;
}

/**
 * The path prefix under which the browser reached this tenant's pages: BASE_PATH, plus `/t/{slug}`
 * unless the tenant is served at the root (DEFAULT_TENANT, custom hostname). Links and form
 * actions are built on it, so they stay on the origin that holds the session cookie.
 */
export function pagePrefix(c: Context<AppEnv>): string {
  const slug = currentRequestScope()?.tenantSlug;
  return `${c.var.deps.config.basePath}${slug === undefined ? '' : `/t/${encodeURIComponent(slug)}`}`;
}

/**
 * A whole HTML page in the tenant's branding: lang, title, skip link, one `<main>`, an error
 * summary (role="alert") above the form. Only same-origin, content-hashed CSS/JS and the
 * tenant's `branding.css`: nothing inline, so the page CSP needs no 'unsafe-inline'.
 * The protocol's error page renders through this too (`tenant` may be null there).
 *
 * Referrer policy `same-origin` for the page (the header says no-referrer): under no-referrer
 * browsers send `Origin: null` on a form POST (Fetch §3.2.5), which the CSRF Origin check must
 * refuse. same-origin still sends nothing to any other origin; no page URL carries a secret.
 */
export async function renderPage(
  c: Context<AppEnv>,
  tenant: Tenant | null,
  view: PageView,
): Promise<Response> {
  const assets = await pageAssetNames();
  const base = c.var.deps.config.basePath;
  const branding = tenant?.settings.branding ?? {};
  const brand = branding.display_name ?? tenant?.name ?? 'Sign in';
  const errors = view.errors ?? [];
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <meta name="referrer" content="same-origin" />
        <title>${errors.length > 0 ? 'Error: ' : ''}${view.title} – ${brand}</title>
        <link rel="stylesheet" href="${base}/assets/${assets.css}" />
        ${tenant === null ? '' : html`<link rel="stylesheet" href="${pagePrefix(c)}/branding.css" />`}
        ${view.script === true ? html`<script type="module" src="${base}/assets/${assets.js}"></script>` : ''}
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to main content</a>
        <header>
          ${
            branding.logo === undefined
              ? html`<span class="brand">${brand}</span>`
              : html`<img src="${branding.logo}" alt="${brand}" />`
          }
        </header>
        <main id="main" tabindex="-1">
          <h1>${view.title}</h1>
          ${errorSummary(errors)} ${view.body}
        </main>
      </body>
    </html>`;
  c.header('Cache-Control', 'no-store');
  return c.html(page, view.status ?? 200);
}

function errorSummary(errors: FieldError[]): Markup | '' {
  if (errors.length === 0) return '';
  return html`<div
    class="error-summary"
    role="alert"
    aria-labelledby="error-summary-title"
    tabindex="-1"
  >
    <h2 id="error-summary-title">There is a problem</h2>
    <ul>
      ${errors.map((e) =>
        e.field === undefined
          ? html`<li>${e.message}</li>`
          : html`<li><a href="#${e.field}">${e.message}</a></li>`,
      )}
    </ul>
  </div>`;
}

export interface FieldOptions {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  value?: string;
  autocomplete?: string;
  hint?: string;
  inputmode?: 'numeric' | 'text';
  required?: boolean;
}

/** A labelled input; an error for it is tied on with aria-describedby and aria-invalid. */
export function field(options: FieldOptions, errors: FieldError[] = []): Markup {
  const { name } = options;
  const error = errors.find((e) => e.field === name);
  const described = [
    options.hint === undefined ? null : `${name}-hint`,
    error === undefined ? null : `${name}-error`,
  ].filter((id) => id !== null);
  return html`<div class="field">
    <label for="${name}">${options.label}</label>
    ${options.hint === undefined ? '' : html`<p class="hint" id="${name}-hint">${options.hint}</p>`}
    ${error === undefined ? '' : html`<p class="field-error" id="${name}-error">${error.message}</p>`}
    <input
      id="${name}"
      name="${name}"
      type="${options.type ?? 'text'}"
      ${
        options.value === undefined ? '' : html` value="${options.value}"`
      }${options.autocomplete === undefined ? '' : html` autocomplete="${options.autocomplete}"`}${
        options.inputmode === undefined ? '' : html` inputmode="${options.inputmode}"`
      }${options.required === false ? '' : raw(' required')}${
        described.length === 0 ? '' : html` aria-describedby="${described.join(' ')}"`
      }${error === undefined ? '' : raw(' aria-invalid="true"')}
    />
  </div>`;
}

/** The CSRF token and the carried `return_to`, as hidden fields of a POST form. */
export function hiddenFields(c: Context<AppEnv>, returnTo: string | null): Markup {
  allowReturnTarget(c, returnTo);
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrfToken(c)}" />${
      returnTo === null ? '' : html`<input type="hidden" name="return_to" value="${returnTo}" />`
    }`;
}

/**
 * A form that carries `return_to` ends, once it signs someone in, in a chain of redirects: this
 * page's POST → 303 authorize → 302 the client's redirect URI. Browsers hold every redirect of a
 * form submission to the page's `form-action` (CSP3 §6.4.1; Chromium enforces it), so `'self'`
 * alone would stop the chain at the last hop. This page's policy therefore also names the origin
 * of the request's `redirect_uri` — the origin only, never a path, `*` or a wildcard — while
 * whether the browser is actually sent there is decided by authorize against the registered URIs.
 */
function allowReturnTarget(c: Context<AppEnv>, returnTo: string | null): void {
  const redirectURI = returnToParams(returnTo).get('redirect_uri');
  if (redirectURI === null) return;
  let target: URL;
  try {
    target = new URL(redirectURI);
  } catch {
    return;
  }
  if (target.protocol === 'https:' || target.protocol === 'http:') {
    allowInPage(c, 'form-action', target.origin);
  } else if (/^[a-z][a-z0-9+.-]*:$/.test(target.protocol)) {
    // A native app's private-use scheme (RFC 8252 §7.1): a scheme-source.
    allowInPage(c, 'form-action', target.protocol);
  }
}

/** `path` on this tenant's pages, with `return_to` carried along when there is one. */
export function pageLink(c: Context<AppEnv>, path: string, returnTo: string | null): string {
  return returnTo === null
    ? `${pagePrefix(c)}${path}`
    : `${pagePrefix(c)}${path}?${new URLSearchParams({ return_to: returnTo }).toString()}`;
}
