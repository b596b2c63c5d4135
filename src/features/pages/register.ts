import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { credentialTimingFloor } from '../../http/timing-floor.ts';
import { registerBody } from '../accounts/routes.ts';
import { register } from '../accounts/service.ts';
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
import { safeReturnTo } from './return-to.ts';

export const registerPages = new Hono<AppEnv>();

function closed(c: Context<AppEnv>, tenant: Tenant): Promise<Response> {
  return renderPage(c, tenant, {
    title: 'Registration is closed',
    status: 403,
    body: html`<p>
      New accounts cannot be created here. <a href="${pageLink(c, '/login', null)}">Sign in</a> if
      you have one.
    </p>`,
  });
}

function renderRegister(
  c: Context<AppEnv>,
  tenant: Tenant,
  state: { email: string; name: string; returnTo: string | null; errors: FieldError[] },
  status: 200 | 400 | 409 | 429 = 200,
): Promise<Response> {
  const { errors, returnTo } = state;
  const min = tenant.settings.passwordPolicy.minLength;
  return renderPage(c, tenant, {
    title: 'Create an account',
    status,
    errors,
    body: html`<form method="post" action="${pagePrefix(c)}/register" novalidate>
        ${hiddenFields(c, returnTo)}
        ${field({ name: 'name', label: 'Name', value: state.name, autocomplete: 'name', required: false }, errors)}
        ${field({ name: 'email', label: 'Email address', type: 'email', value: state.email, autocomplete: 'email' }, errors)}
        ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: `At least ${min} characters.` }, errors)}
        <div class="actions"><button type="submit">Create account</button></div>
      </form>
      <ul class="links">
        <li><a href="${pageLink(c, '/login', returnTo)}">Already have an account? Sign in</a></li>
      </ul>`,
  });
}

registerPages.get('/register', async (c) => {
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  if (!loaded.tenant.settings.registrationEnabled) return closed(c, loaded.tenant);
  const returnTo = safeReturnTo(c.req.query('return_to'));
  return renderRegister(c, loaded.tenant, { email: '', name: '', returnTo, errors: [] });
});

registerPages.post('/register', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const { deps, tenantScope } = c.var;
  const state = { email: (form.email ?? '').trim(), name: (form.name ?? '').trim(), returnTo };
  const parsed = registerBody.safeParse({
    email: form.email,
    password: form.password,
    name: state.name === '' ? undefined : state.name,
  });
  if (!parsed.success) {
    const loaded = await loadPageTenant(c);
    if ('missing' in loaded) return loaded.missing;
    const errors: FieldError[] = [];
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'email');
      if (errors.some((e) => e.field === name)) continue;
      errors.push({
        field: name,
        message:
          name === 'email'
            ? 'Enter a valid email address.'
            : name === 'password'
              ? 'Enter a password.'
              : 'Enter a shorter name.',
      });
    }
    return renderRegister(c, loaded.tenant, { ...state, errors }, 400);
  }
  try {
    const result = await register(deps, tenantScope, parsed.data, clientInfo(c));
    if (!('token' in result)) {
      return renderPage(c, result.tenant, {
        title: 'Check your email',
        body: html`<p>
            We have sent a link to <strong>${result.user.email}</strong>. Open it to verify your
            address, then sign in.
          </p>
          <ul class="links">
            <li><a href="${pageLink(c, '/login', returnTo)}">Sign in</a></li>
          </ul>`,
      });
    }
    return signedInRedirect(c, result, returnTo);
  } catch (error) {
    const tenant = tenantScope.tenant;
    if (!(error instanceof AppError) || tenant === null) throw error;
    if (error.code === 'registration_closed') return closed(c, tenant);
    const status = error.code === 'rate_limited' ? 429 : error.code === 'email_taken' ? 409 : 400;
    const fieldName = error.code.startsWith('password_') ? 'password' : 'email';
    const errors = [{ field: fieldName, message: describeAppError(error) }];
    return renderRegister(c, tenant, { ...state, errors }, status);
  }
});
