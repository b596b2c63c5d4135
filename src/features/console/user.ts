// One user: their live sessions (end them all), and the link to the admin export of their data.
import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { pathUUID } from '../admin/pagination.ts';
import { pathSlug } from '../admin/tenants-routes.ts';
import { listUserSessionsBySlug } from '../admin/users-repo.ts';
import { when } from './forms.ts';
import { consoleBase, noticeFor, postButton, renderConsole } from './layout.ts';

export const consoleOneUserRoutes = new Hono<AdminEnv>();

/** Two round trips: the operator session, then the tenant, the user and their live sessions. */
consoleOneUserRoutes.get('/tenants/:slug/users/:id', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const id = pathUUID(c.req.param('id'), 'user');
  const { deps } = c.var;
  const { lookup, sessions } = await listUserSessionsBySlug(deps.db, slug, id, deps.clock.now());
  if (lookup === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (lookup.user === null) throw new AppError('not_found', 'no such user');
  const user = lookup.user;
  const base = consoleBase(c);
  const path = `${base}/tenants/${slug}/users/${id}`;
  return renderConsole(c, {
    title: user.email,
    section: 'tenants',
    notice: noticeFor(c),
    body: html`<p>
        <a href="${base}/tenants/${slug}/users">All users of ${slug}</a> ·
        <a href="${deps.config.basePath}/admin/api/v1/tenants/${slug}/users/${id}/export"
          >Export this user's data (JSON)</a
        >
      </p>
      <h2>Live sessions</h2>
      <table>
        <caption>
          ${sessions.length} live sessions
        </caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Last seen</th>
            <th scope="col">Expires</th>
            <th scope="col">IP</th>
            <th scope="col">User agent</th>
          </tr>
        </thead>
        <tbody>
          ${sessions.map(
            (s) =>
              html`<tr>
                <td>${when(s.createdAt)}</td>
                <td>${when(s.lastSeenAt)}</td>
                <td>${when(s.expiresAt)}</td>
                <td>${s.ip ?? '—'}</td>
                <td>${s.userAgent ?? '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        sessions.length === 0
          ? ''
          : postButton(c, `${path}/sessions/revoke`, 'End every session', { danger: true })
      }`,
  });
});
