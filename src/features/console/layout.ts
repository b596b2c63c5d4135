import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { CSRF_FIELD, csrfToken } from '../pages/csrf.ts';
import { describeAppError } from '../pages/form.ts';
import type { FieldError, Markup } from '../pages/layout.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { consoleStylesheetName } from './assets.ts';

export type { FieldError, Markup };

export type Section = 'tenants' | 'audit' | 'backups' | 'api-keys' | 'metrics';

export interface ConsoleView {
  title: string;
  body: Markup;
  errors?: FieldError[];
  status?: ContentfulStatusCode;
  /** The navigation entry to mark as current; none on the sign-in pages. */
  section?: Section;
  /** A short confirmation after a redirect (PRG), announced politely. */
  notice?: string | null;
}

/** `{BASE_PATH}/admin`: every console link and form action is built on it. */
export function consoleBase<E extends AppEnv>(c: Context<E>): string {
  return `${c.var.deps.config.basePath}/admin`;
}

/** The signed-in operator's email, when there is one (the sign-in pages have none). */
function operatorEmail<E extends AppEnv>(c: Context<E>): string | null {
  const admin = (c.var as Partial<AdminEnv['Variables']>).admin;
  return admin?.operator?.operator.email ?? null;
}

const NAV: { section: Section; label: string; path: string }[] = [
  { section: 'tenants', label: 'Tenants', path: '/tenants' },
  { section: 'audit', label: 'Audit log', path: '/audit' },
  { section: 'backups', label: 'Backups', path: '/backups' },
  { section: 'api-keys', label: 'API keys', path: '/api-keys' },
  { section: 'metrics', label: 'Metrics', path: '/metrics' },
];

/**
 * A whole console page: lang, title, skip link, banner, navigation and one `<main>`; only the
 * same-origin hashed stylesheet, no script and nothing inline, so the page CSP stays strict.
 * Referrer policy same-origin so form POSTs carry a real Origin (see pages/layout.ts).
 */
export async function renderConsole<E extends AppEnv>(
  c: Context<E>,
  view: ConsoleView,
): Promise<Response> {
  const base = consoleBase(c);
  const css = await consoleStylesheetName();
  const errors = view.errors ?? [];
  const email = operatorEmail(c);
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <meta name="referrer" content="same-origin" />
        <title>${errors.length > 0 ? 'Error: ' : ''}${view.title} – Gatehouse console</title>
        <link rel="stylesheet" href="${base}/assets/${css}" />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to main content</a>
        <header class="topbar">
          <a class="brand" href="${base}/">Gatehouse console</a>
          ${
            email === null
              ? ''
              : html`<form class="inline" method="post" action="${base}/logout">
                  <span class="who">${email}</span>${csrfField(c)}
                  <button type="submit">Sign out</button>
                </form>`
          }
        </header>
        ${
          email === null
            ? html`<main id="main" tabindex="-1" class="narrow">${content(view, errors)}</main>`
            : html`<div class="layout">
                <nav class="sections" aria-label="Console sections">
                  <ul>
                    ${NAV.map(
                      (item) =>
                        html`<li>
                          <a
                            href="${base}${item.path}"
                            ${item.section === view.section ? html`aria-current="page"` : ''}
                            >${item.label}</a
                          >
                        </li>`,
                    )}
                  </ul>
                </nav>
                <main id="main" tabindex="-1">${content(view, errors)}</main>
              </div>`
        }
      </body>
    </html>`;
  c.header('Cache-Control', 'no-store');
  return c.html(page, view.status ?? 200);
}

function content(view: ConsoleView, errors: FieldError[]): Markup {
  return html`<h1>${view.title}</h1>
    ${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
    ${
      errors.length === 0
        ? ''
        : html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title">
            <h2 id="error-summary-title">There is a problem</h2>
            <ul>
              ${errors.map((e) =>
                e.field === undefined
                  ? html`<li>${e.message}</li>`
                  : html`<li><a href="#${e.field}">${e.message}</a></li>`,
              )}
            </ul>
          </div>`
    }
    ${view.body}`;
}

/** The double-submitted CSRF token as a hidden field (the hosted pages' machinery). */
export function csrfField<E extends AppEnv>(c: Context<E>): Markup {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrfToken(asApp(c))}" />`;
}

/** A POST button in its own small form (disable, delete, verify…), CSRF token included. */
export function postButton<E extends AppEnv>(
  c: Context<E>,
  action: string,
  label: string,
  options: { danger?: boolean; secondary?: boolean; hidden?: Record<string, string> } = {},
): Markup {
  const kind = options.danger ? 'danger' : options.secondary ? 'secondary' : '';
  return html`<form class="inline" method="post" action="${action}">
    ${csrfField(c)}${Object.entries(options.hidden ?? {}).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`,
    )}
    <button type="submit" class="${kind}">${label}</button>
  </form>`;
}

/** An AppError from a service as the form's error list; anything else is rethrown. */
export function formErrors(error: unknown, field?: string): FieldError[] {
  if (!(error instanceof AppError)) throw error;
  return [{ ...(field === undefined ? {} : { field }), message: describeAppError(error) }];
}

/** The status an AppError carries, for re-rendering the form that caused it. */
export function errorStatus(error: unknown): ContentfulStatusCode {
  return error instanceof AppError ? error.status : 500;
}

/** Fixed confirmations for `?done=…` after a redirect: nothing from the URL is echoed. */
const NOTICES: Record<string, string> = {
  tenant_created: 'Tenant created.',
  settings_saved: 'Settings saved.',
  key_rotated: 'A new signing key is active; the previous one stays published.',
  user_created: 'User created.',
  user_disabled: 'User disabled; their sessions were ended.',
  user_enabled: 'User enabled.',
  user_deleted: 'User deleted.',
  sessions_revoked: 'Sessions revoked.',
  session_revoked: 'Session revoked.',
  imported: 'Archive imported.',
  api_key_revoked: 'API key revoked.',
  signed_in: 'Signed in.',
};

export function noticeFor<E extends AppEnv>(c: Context<E>): string | null {
  const done = c.req.query('done');
  return done === undefined ? null : (NOTICES[done] ?? null);
}

/** The hosted pages' helpers take the base env; a console context is one with more variables. */
export function asApp<E extends AppEnv>(c: Context<E>): Context<AppEnv> {
  return c as unknown as Context<AppEnv>;
}
