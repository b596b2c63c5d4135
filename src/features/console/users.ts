// A tenant's users: search, create, disable/enable, end sessions, delete (the admin delete).
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import { adminActor } from '../admin/audit.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { pathUUID, readQuery } from '../admin/pagination.ts';
import { pathSlug } from '../admin/tenants-routes.ts';
import {
  listUsers,
  revokeAllUserSessions,
  setUserDisabled,
  type AdminUser,
  type UserLookup,
} from '../admin/users-repo.ts';
import { createUserRequestSchema, userListQuerySchema } from '../admin/users-routes.ts';
import { createUserByAdmin, eraseUserByAdmin } from '../admin/users-service.ts';
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

const listQuerySchema = userListQuerySchema.extend(DONE);

export const consoleUserRoutes = new Hono<AdminEnv>();

function createForm(
  c: Context<AdminEnv>,
  slug: string,
  values: Record<string, string> = {},
  errors: FieldError[] = [],
): Markup {
  return html`<form method="post" action="${consoleBase(c)}/tenants/${slug}/users" novalidate>
    ${csrfField(c)}
    ${field({ name: 'email', label: 'Email', type: 'email', value: values.email ?? '', autocomplete: 'off' }, errors)}
    ${field({ name: 'name', label: 'Name (optional)', value: values.name ?? '', autocomplete: 'off', required: false }, errors)}
    ${field({ name: 'password', label: 'Password (optional)', type: 'password', autocomplete: 'new-password', required: false, hint: "Checked against the tenant's password policy. Without one the user cannot sign in until a password is set." }, errors)}
    ${checkbox('email_verified', 'Email address already verified', values.email_verified === 'on')}
    <button type="submit">Create user</button>
  </form>`;
}

function userRow(c: Context<AdminEnv>, slug: string, user: AdminUser): Markup {
  const path = `${consoleBase(c)}/tenants/${slug}/users/${user.id}`;
  return html`<tr>
    <td><a href="${path}">${user.email}</a></td>
    <td>${user.name ?? '—'}</td>
    <td>${user.disabledAt === null ? 'active' : html`<strong>disabled</strong>`}</td>
    <td>${user.emailVerified ? 'yes' : 'no'}</td>
    <td>${when(user.createdAt)}</td>
    <td class="row-actions">
      ${
        user.disabledAt === null
          ? postButton(c, `${path}/disable`, `Disable ${user.email}`, { secondary: true })
          : postButton(c, `${path}/enable`, `Enable ${user.email}`, { secondary: true })
      }
      ${postButton(c, `${path}/sessions/revoke`, `End sessions of ${user.email}`, {
        secondary: true,
      })}
      ${postButton(c, `${path}/delete`, `Delete ${user.email}`, { danger: true })}
    </td>
  </tr>`;
}

/** Two round trips: the operator session, then the tenant and one page of its users. */
consoleUserRoutes.get('/tenants/:slug/users', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const query = readQuery(c, listQuerySchema);
  const listed = await listUsers(c.var.deps.db, slug, { ...query, search: query.search });
  if (listed === null) throw new AppError('unknown_tenant', 'no such tenant');
  const base = consoleBase(c);
  return renderConsole(c, {
    title: `Users of ${slug}`,
    section: 'tenants',
    notice: noticeFor(c),
    body: html`<form
        class="filters"
        method="get"
        action="${base}/tenants/${slug}/users"
        role="search"
      >
        <div class="field">
          <label for="search">Search by email or name</label>
          <input id="search" name="search" type="search" value="${query.search ?? ''}" />
        </div>
        <button type="submit" class="secondary">Search</button>
      </form>
      <table>
        <caption>
          ${listed.total} ${listed.total === 1 ? 'user' : 'users'}${query.search ? ' found' : ''}
        </caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Verified</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${listed.users.map((user) => userRow(c, slug, user))}
        </tbody>
      </table>
      ${pager(c, query, listed.total, `${base}/tenants/${slug}/users`, query.search ? { search: query.search } : {})}
      <h2>Create a user</h2>
      ${createForm(c, slug)}`,
  });
});

consoleUserRoutes.post('/tenants/:slug/users', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const { form } = read;
  const rerender = (errors: FieldError[], status: 400 | 401 | 403 | 404 | 409 | 429 | 500) =>
    renderConsole(c, {
      title: `Create a user in ${slug}`,
      section: 'tenants',
      status,
      errors,
      body: createForm(c, slug, { ...form, password: '' }, errors),
    });
  const name = (form.name ?? '').trim();
  const password = form.password ?? '';
  const parsed = parseWith(createUserRequestSchema, {
    email: (form.email ?? '').trim(),
    name: name === '' ? null : name,
    ...(password === '' ? {} : { password }),
    email_verified: form.email_verified === 'on',
  });
  if (!parsed.ok) return rerender(parsed.errors, 400);
  try {
    await createUserByAdmin(c.var.deps, slug, parsed.data, adminActor(c));
    return c.redirect(`${consoleBase(c)}/tenants/${slug}/users?done=user_created`, 303);
  } catch (error) {
    const field = error instanceof AppError && error.code === 'email_taken' ? 'email' : 'password';
    return rerender(formErrors(error, field), errorStatus(error) as 400);
  }
});

type UserWrite = (slug: string, id: string, c: Context<AdminEnv>) => Promise<unknown>;

/** A repository write's lookup, or the API's 404 for an unknown tenant or user. */
function found(lookup: UserLookup): void {
  if (lookup === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (lookup.user === null) throw new AppError('not_found', 'no such user');
}

/** The API's own repository writes, each with its audit event in the same statement. */
const WRITES: Record<string, { run: UserWrite; done: string; confirm?: string }> = {
  disable: {
    run: async (slug, id, c) =>
      found(await setUserDisabled(c.var.deps.db, slug, id, true, adminActor(c))),
    done: 'user_disabled',
  },
  enable: {
    run: async (slug, id, c) =>
      found(await setUserDisabled(c.var.deps.db, slug, id, false, adminActor(c))),
    done: 'user_enabled',
  },
  delete: {
    run: (slug, id, c) => eraseUserByAdmin(c.var.deps, slug, id, adminActor(c)),
    done: 'user_deleted',
    confirm: 'Delete this user for good? Their credentials, sessions and tokens go with them.',
  },
  'sessions/revoke': {
    run: async (slug, id, c) =>
      found((await revokeAllUserSessions(c.var.deps.db, slug, id, adminActor(c))).lookup),
    done: 'sessions_revoked',
  },
};

for (const [action, write] of Object.entries(WRITES)) {
  consoleUserRoutes.post(`/tenants/:slug/users/:id/${action}`, async (c) => {
    const slug = pathSlug(c.req.param('slug'));
    const id = pathUUID(c.req.param('id'), 'user');
    const read = await readConsoleForm(c);
    if ('refused' in read) return read.refused;
    // Irreversible writes ask once more, on a page of their own: nothing is written until then.
    if (write.confirm !== undefined && read.form.confirm !== 'yes') {
      const base = `${consoleBase(c)}/tenants/${slug}/users`;
      return renderConsole(c, {
        title: 'Are you sure?',
        section: 'tenants',
        body: html`<p>${write.confirm}</p>
          <p class="row-actions">
            ${postButton(c, `${base}/${id}/${action}`, 'Yes, delete the user', {
              danger: true,
              hidden: { confirm: 'yes' },
            })}
            <a href="${base}">Cancel</a>
          </p>`,
      });
    }
    await write.run(slug, id, c);
    return c.redirect(`${consoleBase(c)}/tenants/${slug}/users?done=${write.done}`, 303);
  });
}
