// Operators in the console: the operator cookie of the admin API (SameSite=Strict), signed in and
// out through the same services, and the first-run page that turns the bootstrap code printed by
// `npm run dev` / `db:migrate` into the first owner (completeBootstrap, the API's own rule).
import type { Context } from 'hono';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { adminActor, adminEvent } from '../admin/audit.ts';
import { operatorOf, type AdminEnv } from '../admin/auth.ts';
import { SCOPES } from '../apikeys/scopes.ts';
import { completeBootstrap } from '../operators/bootstrap.ts';
import {
  clearOperatorCookie,
  readOperatorCookie,
  writeOperatorCookie,
} from '../operators/cookie.ts';
import { OPERATOR_PASSWORD_MAX_LENGTH } from '../operators/password-policy.ts';
import { revokeOperatorSessions } from '../operators/repo.ts';
import { authenticateOperator, loginOperator } from '../operators/service.ts';
import { isCsrfValid } from '../pages/csrf.ts';
import { field } from '../pages/layout.ts';
import { readForm } from '../pages/form.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { ADMIN_WRITE_PER_KEY } from '../ratelimit/policies.ts';
import { asApp, consoleBase, csrfField, errorStatus, formErrors, renderConsole } from './layout.ts';

const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Every console page but sign-in and first run: the operator session (one round trip) or a 303
 * to the sign-in page. Writes are charged to the operator's `admin.write` budget, as in the API.
 */
export const consoleAuth = createMiddleware<AdminEnv>(async (c, next) => {
  const { deps } = c.var;
  let auth;
  try {
    auth = await authenticateOperator(deps, readOperatorCookie(c, deps.config));
  } catch (error) {
    if (error instanceof AppError && error.code === 'unauthorized') {
      if (c.req.method === 'GET') return c.redirect(`${consoleBase(c)}/login`, 303);
      return renderConsole(c, {
        title: 'Sign in again',
        status: 401,
        errors: [{ message: 'Your session has ended. Sign in again.' }],
        body: html`<p><a href="${consoleBase(c)}/login">Sign in</a></p>`,
      });
    }
    throw error;
  }
  c.set('admin', {
    kind: 'operator',
    id: auth.operator.id,
    scopes: SCOPES,
    tenantId: null,
    tenantSlug: null,
    operator: { ...auth, role: auth.operator.role },
  });
  if (WRITE_METHODS.includes(c.req.method)) {
    await enforce(deps, ADMIN_WRITE_PER_KEY.name, `operator:${auth.operator.id}`, {
      client: clientInfo(c),
      actor: { type: 'operator', id: auth.operator.id },
    });
  }
  await next();
  return undefined;
});

/** The console's textareas: one entry per line, so their values may hold line breaks. */
const TEXTAREAS = ['cors_origins', 'hostnames', 'mfa_admin_roles'] as const;

/**
 * A console form POST: the Origin and the double-submitted token are checked before anything
 * else runs, so a forged form writes nothing (403 page).
 */
export async function readConsoleForm<E extends AppEnv>(
  c: Context<E>,
): Promise<{ form: Record<string, string> } | { refused: Response }> {
  const form = await readForm(asApp(c), TEXTAREAS);
  if (isCsrfValid(asApp(c), form)) return { form };
  return {
    refused: await renderConsole(c, {
      title: 'This form has expired',
      status: 403,
      errors: [{ message: 'The form could not be verified. Reload the page and try again.' }],
      body: html`<p>Console forms are only accepted from the console's own pages.</p>`,
    }),
  };
}

function signInForm(c: Context<AppEnv>, email = '', errors: ReturnType<typeof formErrors> = []) {
  return html`<form method="post" action="${consoleBase(c)}/login" novalidate>
      ${csrfField(c)}
      ${field({ name: 'email', label: 'Email', type: 'email', value: email, autocomplete: 'username' }, errors)}
      ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' }, errors)}
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">
      First run? <a href="${consoleBase(c)}/setup">Create the first owner</a> with the bootstrap
      code that <code>npm run dev</code> or <code>npm run db:migrate</code> printed.
    </p>`;
}

function setupForm(c: Context<AppEnv>, email = '', errors: ReturnType<typeof formErrors> = []) {
  return html`<p>
      Enter the one-time bootstrap code from the log of <code>npm run dev</code> or
      <code>npm run db:migrate</code> (<code>npm run cli -- bootstrap-code</code> prints a new one).
    </p>
    <form method="post" action="${consoleBase(c)}/setup" novalidate>
      ${csrfField(c)}
      ${field({ name: 'code', label: 'Bootstrap code', autocomplete: 'off', hint: 'XXXX-XXXX-XXXX' }, errors)}
      ${field({ name: 'email', label: 'Your email', type: 'email', value: email, autocomplete: 'username' }, errors)}
      ${field({ name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'At least 12 characters, 3 of: lower case, upper case, digits, symbols.' }, errors)}
      <button type="submit">Create the first owner</button>
    </form>`;
}

/** Sign-in, sign-out and first run: no operator session needed (sign-out checks its own). */
export const consoleSessionRoutes = new Hono<AppEnv>();

consoleSessionRoutes.get('/login', (c) =>
  renderConsole(c, { title: 'Sign in', body: signInForm(c) }),
);

consoleSessionRoutes.post('/login', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const email = (read.form.email ?? '').trim().slice(0, 254);
  const password = (read.form.password ?? '').slice(0, OPERATOR_PASSWORD_MAX_LENGTH * 4);
  const { deps } = c.var;
  try {
    if (email === '' || password === '')
      throw new AppError('invalid_request', 'Enter your email and password.');
    const signedIn = await loginOperator(deps, { email, password }, clientInfo(c));
    writeOperatorCookie(c, deps.config, signedIn.token, signedIn.expiresAt);
    return c.redirect(`${consoleBase(c)}/tenants?done=signed_in`, 303);
  } catch (error) {
    return renderConsole(c, {
      title: 'Sign in',
      status: errorStatus(error),
      errors: formErrors(error, 'email'),
      body: signInForm(c, email),
    });
  }
});

consoleSessionRoutes.get('/setup', (c) =>
  renderConsole(c, { title: 'Create the first owner', body: setupForm(c) }),
);

consoleSessionRoutes.post('/setup', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const code = (read.form.code ?? '').slice(0, 64);
  const email = (read.form.email ?? '').trim().slice(0, 254);
  const password = (read.form.password ?? '').slice(0, OPERATOR_PASSWORD_MAX_LENGTH * 4);
  try {
    if (code === '' || !/^[^@\s]+@[^@\s]+$/.test(email))
      throw new AppError('invalid_request', 'Enter the bootstrap code and a valid email address.');
    const { recoveryCodes } = await completeBootstrap(
      c.var.deps,
      { code, email, password },
      clientInfo(c),
    );
    c.header('Cache-Control', 'no-store');
    return renderConsole(c, {
      title: 'The first owner exists',
      status: 201,
      body: html`<p>
          Keep these recovery codes somewhere safe: each resets your password once, and they are
          shown only now.
        </p>
        <ul class="codes">
          ${recoveryCodes.map((r) => html`<li><code>${r}</code></li>`)}
        </ul>
        <p><a class="button" href="${consoleBase(c)}/login">Sign in</a></p>`,
    });
  } catch (error) {
    return renderConsole(c, {
      title: 'Create the first owner',
      status: errorStatus(error),
      errors: formErrors(error, 'code'),
      body: setupForm(c, email),
    });
  }
});

/** Signs out: this session only, audited as the API's logout is. */
export const consoleLogoutRoutes = new Hono<AdminEnv>();

consoleLogoutRoutes.post('/logout', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const { deps } = c.var;
  const auth = operatorOf(c.var.admin);
  await revokeOperatorSessions(
    deps.db,
    auth.operator.id,
    { only: auth.session.id },
    deps.clock.now(),
    adminEvent(adminActor(c), 'admin.operator.logout', null, {
      type: 'operator_session',
      id: null,
    }),
  );
  clearOperatorCookie(c, deps.config);
  return c.redirect(`${consoleBase(c)}/login`, 303);
});
