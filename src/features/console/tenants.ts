// Tenants: list, create, and one tenant's settings, CORS origins, hostnames and signing keys.
import { Hono } from 'hono';
import { html } from 'hono/html';
import { adminActor } from '../admin/audit.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { pageQuerySchema, readQuery } from '../admin/pagination.ts';
import { z } from 'zod';
import { createTenantRequestSchema, pathSlug } from '../admin/tenants-routes.ts';
import { getTenant, listSigningKeys, listTenants } from '../admin/tenants-repo.ts';
import { createTenantByAdmin } from '../admin/tenants-service.ts';
import { field } from '../pages/layout.ts';
import { readConsoleForm } from './auth.ts';
import { rotateButton, settingsForm, settingsValues } from './tenant-settings.ts';
import { lines, parseWith, textarea, when } from './forms.ts';
import {
  consoleBase,
  csrfField,
  errorStatus,
  formErrors,
  noticeFor,
  renderConsole,
  type FieldError,
  type Markup,
} from './layout.ts';
import type { Context } from 'hono';

export const consoleTenantRoutes = new Hono<AdminEnv>();

/** `?done=…` names the confirmation to show after a redirect (see noticeFor). */
export const DONE = { done: z.string().max(40).optional() };
const listQuerySchema = pageQuerySchema.extend(DONE);

function createForm(
  c: Context<AdminEnv>,
  values: Record<string, string> = {},
  errors: FieldError[] = [],
): Markup {
  return html`<form method="post" action="${consoleBase(c)}/tenants" novalidate>
    ${csrfField(c)}
    ${field({ name: 'slug', label: 'Slug', value: values.slug ?? '', hint: 'Lower-case letters, digits and hyphens; 2–50 characters. Used in URLs: /t/{slug}/…', autocomplete: 'off' }, errors)}
    ${field({ name: 'name', label: 'Name', value: values.name ?? '', autocomplete: 'off' }, errors)}
    ${textarea({ name: 'cors_origins', label: 'CORS origins (optional)', hint: 'One origin per line, e.g. https://app.example.com', value: values.cors_origins ?? '' }, errors)}
    ${textarea({ name: 'hostnames', label: 'Custom hostnames (optional)', hint: 'One hostname per line', value: values.hostnames ?? '' }, errors)}
    <button type="submit">Create tenant</button>
  </form>`;
}

/** Two round trips: the operator session, then one page of tenants with the total. */
consoleTenantRoutes.get('/tenants', async (c) => {
  const page = readQuery(c, listQuerySchema);
  const { tenants, total } = await listTenants(c.var.deps.db, { ...page, onlyTenantId: null });
  const base = consoleBase(c);
  return renderConsole(c, {
    title: 'Tenants',
    section: 'tenants',
    notice: noticeFor(c),
    body: html`<table>
        <caption>
          ${total} ${total === 1 ? 'tenant' : 'tenants'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Slug</th>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${tenants.map(
            (t) =>
              html`<tr>
                <td><a href="${base}/tenants/${t.slug}">${t.slug}</a></td>
                <td>${t.name}</td>
                <td>${when(t.createdAt)}</td>
                <td class="row-actions">
                  <a href="${base}/tenants/${t.slug}/users">Users</a>
                  <a href="${base}/audit?tenant=${t.slug}">Audit log</a>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${pager(c, page, total, `${base}/tenants`)}
      <h2>Create a tenant</h2>
      ${createForm(c)}`,
  });
});

export function pager(
  c: Context<AdminEnv>,
  page: { limit: number; offset: number },
  total: number,
  path: string,
  extra: Record<string, string> = {},
): Markup {
  const link = (offset: number) =>
    `${path}?${new URLSearchParams({ ...extra, limit: String(page.limit), offset: String(offset) }).toString()}`;
  const previous = page.offset > 0 ? Math.max(0, page.offset - page.limit) : null;
  const next = page.offset + page.limit < total ? page.offset + page.limit : null;
  if (previous === null && next === null) return html``;
  void c;
  return html`<nav class="pager" aria-label="Pages">
    ${previous === null ? '' : html`<a href="${link(previous)}">Previous page</a>`}
    ${next === null ? '' : html`<a href="${link(next)}">Next page</a>`}
  </nav>`;
}

/** Creates a tenant through the API's service; PRG to the new tenant's page. */
consoleTenantRoutes.post('/tenants', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const { form } = read;
  const rerender = (errors: FieldError[], status: Parameters<typeof renderConsole>[1]['status']) =>
    renderConsole(c, {
      title: 'Create a tenant',
      section: 'tenants',
      status,
      errors,
      body: createForm(c, form, errors),
    });
  const parsed = parseWith(createTenantRequestSchema, {
    slug: (form.slug ?? '').trim(),
    name: form.name ?? '',
    cors_origins: lines(form.cors_origins),
    hostnames: lines(form.hostnames),
  });
  if (!parsed.ok) return rerender(parsed.errors, 400);
  try {
    const tenant = await createTenantByAdmin(c.var.deps, parsed.data, adminActor(c));
    return c.redirect(`${consoleBase(c)}/tenants/${tenant.slug}?done=tenant_created`, 303);
  } catch (error) {
    return rerender(formErrors(error, 'slug'), errorStatus(error));
  }
});

/** Three round trips: the operator session, the tenant, its signing keys. */
consoleTenantRoutes.get('/tenants/:slug', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const { db } = c.var.deps;
  const tenant = await getTenant(db, slug);
  const base = consoleBase(c);
  if (tenant === null)
    return renderConsole(c, {
      title: 'No such tenant',
      section: 'tenants',
      status: 404,
      body: html`<p><a href="${base}/tenants">All tenants</a></p>`,
    });
  const keys = (await listSigningKeys(db, slug))?.keys ?? [];
  return renderConsole(c, {
    title: `Tenant ${tenant.name}`,
    section: 'tenants',
    notice: noticeFor(c),
    body: html`<p class="row-actions">
        <a href="${base}/tenants/${tenant.slug}/users">Users</a>
        <a href="${base}/audit?tenant=${tenant.slug}">Audit log</a>
        <a href="${base}/backups?tenant=${tenant.slug}">Backups</a>
      </p>
      <dl class="facts">
        <dt>Slug</dt>
        <dd><code>${tenant.slug}</code></dd>
        <dt>Id</dt>
        <dd><code>${tenant.id}</code></dd>
        <dt>Created</dt>
        <dd>${when(tenant.createdAt)}</dd>
      </dl>
      <h2>Settings</h2>
      ${settingsForm(c, tenant.slug, settingsValues(tenant))}
      <h2>Signing keys</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Key id</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          ${keys.map(
            (k) =>
              html`<tr>
                <td><code>${k.kid}</code></td>
                <td>${k.alg}</td>
                <td>${k.status}</td>
                <td>${when(k.createdAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${rotateButton(c, tenant.slug)}`,
  });
});
