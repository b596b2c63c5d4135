// Backups: download a tenant's bkp1 export, and see the scheduled backups kept in R2.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { adminActor } from '../admin/audit.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { listTenants } from '../admin/tenants-repo.ts';
import { exportTenantByAdmin } from '../backup/admin-export.ts';
import { listBackups, type StoredBackup } from '../backup/storage.ts';
import { SLUG } from '../tenants/context.ts';
import { field } from '../pages/layout.ts';
import { readConsoleForm } from './auth.ts';
import { when } from './forms.ts';
import {
  consoleBase,
  csrfField,
  errorStatus,
  formErrors,
  renderConsole,
  type FieldError,
} from './layout.ts';

export const consoleBackupRoutes = new Hono<AdminEnv>();

/** The tenants to choose from: the first 100 (the select is a convenience, not a search). */
async function tenantSlugs(c: Context<AdminEnv>): Promise<string[]> {
  const { tenants } = await listTenants(c.var.deps.db, {
    limit: 100,
    offset: 0,
    onlyTenantId: null,
  });
  return tenants.map((t) => t.slug);
}

async function backupsPage(
  c: Context<AdminEnv>,
  selected: string | null,
  errors: FieldError[] = [],
  status: 200 | 400 | 404 | 429 | 500 = 200,
): Promise<Response> {
  const slugs = await tenantSlugs(c);
  const bucket = c.var.deps.blobs;
  const stored: StoredBackup[] = bucket === null ? [] : await listBackups(bucket);
  const base = consoleBase(c);
  return renderConsole(c, {
    title: 'Backups',
    section: 'backups',
    errors,
    status,
    body: html`<h2>Download an export</h2>
      <p>
        An encrypted <code>bkp1</code> archive of the whole tenant (docs/backup-format.md). Keep the
        passphrase: the archive cannot be opened without it.
      </p>
      <form method="post" action="${base}/backups/export">
        ${csrfField(c)}
        <div class="field">
          <label for="tenant">Tenant</label>
          <select id="tenant" name="tenant">
            ${slugs.map(
              (s) => html`<option value="${s}" ${s === selected ? 'selected' : ''}>${s}</option>`,
            )}
          </select>
        </div>
        ${field({ name: 'passphrase', label: 'Passphrase', type: 'password', autocomplete: 'new-password', hint: 'At least 16 characters.' }, errors)}
        <button type="submit">Download the archive</button>
      </form>
      <h2>Scheduled backups</h2>
      ${
        bucket === null
          ? html`<p>
              No backup bucket is bound (<code>BACKUPS</code>): scheduled backups are off.
            </p>`
          : html`<table>
              <caption>
                ${stored.length} stored in R2
              </caption>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Taken</th>
                  <th scope="col">Size (bytes)</th>
                  <th scope="col">Key</th>
                </tr>
              </thead>
              <tbody>
                ${stored.map(
                  (b) =>
                    html`<tr>
                      <td>${b.slug}</td>
                      <td>${when(b.takenAt)}</td>
                      <td>${b.size}</td>
                      <td><code>${b.key}</code></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  });
}

/** Two round trips (session, tenants) and one R2 list per 1,000 stored backups. */
consoleBackupRoutes.get('/backups', (c) => {
  const tenant = c.req.query('tenant');
  return backupsPage(c, tenant !== undefined && SLUG.test(tenant) ? tenant : null);
});

/** Streams the archive as a download (the API's export: audited when it starts). */
consoleBackupRoutes.post('/backups/export', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const slug = read.form.tenant ?? '';
  const passphrase = read.form.passphrase ?? '';
  try {
    const exported = await exportTenantByAdmin(c.var.deps, slug, passphrase, adminActor(c));
    return new Response(exported.archive, { headers: exported.headers });
  } catch (error) {
    const errors = formErrors(error, 'passphrase');
    return backupsPage(c, SLUG.test(slug) ? slug : null, errors, errorStatus(error) as 400);
  }
});
