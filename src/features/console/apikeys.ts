// API keys: list, create with scopes (the key is shown once, never again), revoke.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import { adminActor } from '../admin/audit.ts';
import { operatorOf, type AdminEnv } from '../admin/auth.ts';
import { pathUUID, readQuery } from '../admin/pagination.ts';
import { apiKeyListQuerySchema, createAPIKeyRequestSchema } from '../apikeys/routes.ts';
import { listAPIKeys } from '../apikeys/repo.ts';
import { SCOPES } from '../apikeys/scopes.ts';
import { createAPIKey, revokeAPIKeyByAdmin } from '../apikeys/service.ts';
import { field } from '../pages/layout.ts';
import { readConsoleForm } from './auth.ts';
import { checkbox, parseWith, when } from './forms.ts';
import {
  consoleBase,
  csrfField,
  errorStatus,
  formErrors,
  noticeFor,
  postButton,
  renderConsole,
  type FieldError,
  type Markup,
} from './layout.ts';
import { DONE, pager } from './tenants.ts';

export const consoleAPIKeyRoutes = new Hono<AdminEnv>();

const listQuerySchema = apiKeyListQuerySchema.extend(DONE);

/** One checkbox per scope, `scope_<name>`: the console's forms carry one value per name. */
const scopeField = (scope: string) => `scope_${scope}`;

function createForm(
  c: Context<AdminEnv>,
  values: Record<string, string> = {},
  errors: FieldError[] = [],
): Markup {
  const scopeError = errors.find((e) => e.field === 'scopes');
  return html`<form method="post" action="${consoleBase(c)}/api-keys" novalidate>
    ${csrfField(c)}
    ${field({ name: 'name', label: 'Name', value: values.name ?? '', autocomplete: 'off' }, errors)}
    <fieldset id="scopes">
      <legend>Scopes</legend>
      ${scopeError ? html`<p class="field-error">${scopeError.message}</p>` : ''}
      ${SCOPES.map((s) => checkbox(scopeField(s), s, values[scopeField(s)] === 'on'))}
    </fieldset>
    ${field({ name: 'tenant', label: 'Tenant (optional)', value: values.tenant ?? '', hint: 'The slug of the one tenant the key may see; empty: every tenant.', autocomplete: 'off' }, errors)}
    ${field({ name: 'expires_at', label: 'Expires at (optional)', value: values.expires_at ?? '', hint: 'ISO 8601 with an offset, e.g. 2027-01-31T00:00:00Z; empty: never.', autocomplete: 'off' }, errors)}
    <button type="submit">Create the key</button>
  </form>`;
}

/** Two round trips: the operator session, the page of keys (with its total). */
consoleAPIKeyRoutes.get('/api-keys', async (c) => {
  const page = readQuery(c, listQuerySchema);
  const { keys, total } = await listAPIKeys(c.var.deps.db, page);
  const base = consoleBase(c);
  return renderConsole(c, {
    title: 'API keys',
    section: 'api-keys',
    notice: noticeFor(c),
    body: html`<table>
        <caption>
          ${total} API keys
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Scopes</th>
            <th scope="col">Tenant</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          ${keys.map(
            (k) =>
              html`<tr>
                <td>${k.name}</td>
                <td><code>${k.keyPrefix}…</code></td>
                <td>${k.scopes.join(', ')}</td>
                <td>${k.tenantSlug ?? 'every tenant'}</td>
                <td>${when(k.createdAt)}</td>
                <td>${when(k.expiresAt)}</td>
                <td>${when(k.lastUsedAt)}</td>
                <td>
                  ${
                    k.revokedAt === null
                      ? postButton(c, `${base}/api-keys/${k.id}/revoke`, 'Revoke', { danger: true })
                      : `revoked ${when(k.revokedAt)}`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${pager(c, page, total, `${base}/api-keys`)}
      <h2>Create an API key</h2>
      ${createForm(c)}`,
  });
});

/** Creates a key with the API's service; the key is shown on this response only (no-store). */
consoleAPIKeyRoutes.post('/api-keys', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const { form } = read;
  const rerender = (errors: FieldError[], status: Parameters<typeof renderConsole>[1]['status']) =>
    renderConsole(c, {
      title: 'Create an API key',
      section: 'api-keys',
      status,
      errors,
      body: createForm(c, form, errors),
    });
  const tenant = (form.tenant ?? '').trim();
  const expires = (form.expires_at ?? '').trim();
  const parsed = parseWith(createAPIKeyRequestSchema, {
    name: form.name ?? '',
    scopes: SCOPES.filter((s) => form[scopeField(s)] === 'on'),
    tenant: tenant === '' ? null : tenant,
    expires_at: expires === '' ? null : expires,
  });
  if (!parsed.ok) return rerender(parsed.errors, 400);
  const input = parsed.data;
  try {
    const { key, record } = await createAPIKey(
      c.var.deps,
      operatorOf(c.var.admin).operator.id,
      {
        name: input.name,
        scopes: input.scopes,
        tenant: input.tenant,
        expiresAt: input.expires_at === null ? null : new Date(input.expires_at),
      },
      adminActor(c),
    );
    // Not a redirect: the key exists only in this response, and renderConsole sets no-store.
    return renderConsole(c, {
      title: 'API key created',
      section: 'api-keys',
      status: 201,
      body: html`<p>
          Copy the key for <strong>${record.name}</strong> now: only its SHA-256 is stored, so it
          cannot be shown again.
        </p>
        <p><code class="secret">${key}</code></p>
        <p><a href="${consoleBase(c)}/api-keys">Back to the API keys</a></p>`,
    });
  } catch (error) {
    const field =
      error instanceof AppError && error.code === 'unknown_tenant' ? 'tenant' : 'expires_at';
    return rerender(formErrors(error, field), errorStatus(error));
  }
});

consoleAPIKeyRoutes.post('/api-keys/:id/revoke', async (c) => {
  const id = pathUUID(c.req.param('id'), 'API key');
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  await revokeAPIKeyByAdmin(c.var.deps, id, adminActor(c));
  return c.redirect(`${consoleBase(c)}/api-keys?done=api_key_revoked`, 303);
});
