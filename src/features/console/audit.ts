// The audit log: one tenant's events, filtered by type, user and time, and its chain verified.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import type { AdminEnv } from '../admin/auth.ts';
import { readQuery } from '../admin/pagination.ts';
import { listTenants } from '../admin/tenants-repo.ts';
import { listEvents } from '../audit/repo.ts';
import { verifyChain, type VerifyResult } from '../audit/service.ts';
import { findTenant } from '../tenants/repo.ts';
import { SLUG } from '../tenants/context.ts';
import { readConsoleForm } from './auth.ts';
import { when } from './forms.ts';
import { consoleBase, postButton, renderConsole, type Markup } from './layout.ts';

export const consoleAuditRoutes = new Hono<AdminEnv>();

/** The filters as a form sends them: an empty field means no filter. */
const filterSchema = z.object({
  tenant: z.string().regex(SLUG).optional().catch(undefined),
  type: z.string().trim().max(200).optional(),
  user: z.union([z.uuid(), z.literal('')]).optional(),
  from: z.union([z.iso.date(), z.literal('')]).optional(),
  to: z.union([z.iso.date(), z.literal('')]).optional(),
});
type Filters = z.infer<typeof filterSchema>;

const PAGE = 100;

function verification(result: VerifyResult | null): Markup {
  if (result === null) return html``;
  return result.ok
    ? html`<p class="status-ok" role="status">
        Chain intact: ${result.checked} sealed events verified up to #${result.headSeq};
        ${result.unsealed} not sealed yet (the cron job seals them).
      </p>`
    : html`<p class="status-bad" role="alert">
        Chain broken at #${result.seq} (${result.problem}): ${result.message}
      </p>`;
}

async function auditPage(
  c: Context<AdminEnv>,
  filters: Filters,
  verified: VerifyResult | null,
): Promise<Response> {
  const { db } = c.var.deps;
  const base = consoleBase(c);
  const { tenants } = await listTenants(db, { limit: 100, offset: 0, onlyTenantId: null });
  const slug = filters.tenant ?? tenants[0]?.slug;
  const tenant =
    slug === undefined ? null : await findTenant(db, { ref: { by: 'slug', slug }, tenant: null });
  const events =
    tenant === null
      ? []
      : await listEvents(db, {
          tenantId: tenant.id,
          types: (filters.type ?? '')
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== ''),
          userId: filters.user ? filters.user : null,
          from: filters.from ? new Date(`${filters.from}T00:00:00Z`) : null,
          to: filters.to ? new Date(Date.parse(`${filters.to}T00:00:00Z`) + 86_400_000) : null,
          after: null,
          limit: PAGE,
        });
  const input = (name: keyof Filters, label: string, type = 'text', hint = '') =>
    html`<div class="field">
      <label for="${name}">${label}</label>
      ${hint ? html`<p class="hint" id="${name}-hint">${hint}</p>` : ''}
      <input
        id="${name}"
        name="${name}"
        type="${type}"
        value="${filters[name] ?? ''}"
        ${hint ? html`aria-describedby="${name}-hint"` : ''}
      />
    </div>`;
  return renderConsole(c, {
    title: tenant === null ? 'Audit log' : `Audit log of ${tenant.slug}`,
    section: 'audit',
    body: html`<form class="filters" method="get" action="${base}/audit" aria-label="Filter events">
        <div class="field">
          <label for="tenant">Tenant</label>
          <select id="tenant" name="tenant">
            ${tenants.map(
              (t) =>
                html`<option value="${t.slug}" ${t.slug === slug ? 'selected' : ''}>
                  ${t.slug}
                </option>`,
            )}
          </select>
        </div>
        ${input('type', 'Event types', 'text', 'Comma-separated, e.g. admin.user.disabled')}
        ${input('user', 'User id')} ${input('from', 'From (date)', 'date')}
        ${input('to', 'To (date, inclusive)', 'date')}
        <button type="submit" class="secondary">Filter</button>
      </form>
      ${
        tenant === null
          ? html`<p>No tenant yet.</p>`
          : html`<h2>Chain verification</h2>
              ${verification(verified)}
              ${postButton(c, `${base}/audit/verify`, 'Verify the chain', {
                secondary: true,
                hidden: { tenant: tenant.slug },
              })}
              <table>
                <caption>
                  ${
                    events.length === PAGE
                      ? `The newest ${PAGE} matching events`
                      : `${events.length} matching events`
                  }
                </caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Type</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Target</th>
                    <th scope="col">Seq</th>
                  </tr>
                </thead>
                <tbody>
                  ${events.map(
                    (e) =>
                      html`<tr>
                        <td>${when(e.createdAt)}</td>
                        <td><code>${e.type}</code></td>
                        <td>${e.actorType}${e.actorId ? html` <code>${e.actorId}</code>` : ''}</td>
                        <td>
                          ${e.targetType ?? '—'}${e.targetId ? html` <code>${e.targetId}</code>` : ''}
                        </td>
                        <td>${e.seq ?? 'unsealed'}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }`,
  });
}

/** Four round trips: session, tenants for the picker, the tenant, one page of events. */
consoleAuditRoutes.get('/audit', (c) => auditPage(c, readQuery(c, filterSchema), null));

/**
 * Recomputes the tenant's HMAC chain from its anchor (the `audit-verify` command's service): one
 * round trip per 1,000 sealed events on top of the page's own. A POST: it is work, not a view.
 */
consoleAuditRoutes.post('/audit/verify', async (c) => {
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const slug = read.form.tenant ?? '';
  const { deps } = c.var;
  const tenant = SLUG.test(slug)
    ? await findTenant(deps.db, { ref: { by: 'slug', slug }, tenant: null })
    : null;
  if (tenant === null) return auditPage(c, {}, null);
  const result = await verifyChain(
    {
      db: deps.db,
      secretKey: deps.config.secretKey,
      secretKeyPrevious: deps.config.secretKeyPrevious,
    },
    tenant.id,
  );
  return auditPage(c, { tenant: tenant.slug }, result);
});
