// One tenant's main settings, CORS origins and hostnames (the admin API's PATCH schema and
// service), and signing-key rotation (the API's rotate service): forms on the tenant's page.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { MFA_POLICIES } from '../mfa/settings.ts';
import { adminActor } from '../admin/audit.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { pathSlug, updateTenantRequestSchema } from '../admin/tenants-routes.ts';
import type { AdminTenant } from '../admin/tenants-repo.ts';
import { rotateSigningKeyByAdmin, updateTenantByAdmin } from '../admin/tenants-service.ts';
import { field } from '../pages/layout.ts';
import { readConsoleForm } from './auth.ts';
import { checkbox, lines, textarea } from './forms.ts';
import {
  consoleBase,
  csrfField,
  errorStatus,
  formErrors,
  postButton,
  renderConsole,
  type FieldError,
  type Markup,
} from './layout.ts';

export const consoleTenantSettingsRoutes = new Hono<AdminEnv>();

const TTL_FIELDS = [
  ['session_idle_ttl_seconds', 'Session idle timeout (seconds)'],
  ['session_absolute_ttl_seconds', 'Session absolute lifetime (seconds)'],
  ['access_token_ttl_seconds', 'Access token lifetime (seconds)'],
  ['refresh_token_ttl_seconds', 'Refresh token lifetime (seconds)'],
] as const;
const SAME_SITE = ['Lax', 'Strict', 'None'];
const ALGORITHMS = ['ES256', 'RS256'];

/** The form's values for a stored tenant (what the GET page pre-fills). */
export function settingsValues(tenant: AdminTenant): Record<string, string> {
  const s = tenant.settings;
  return {
    name: tenant.name,
    registration_enabled: s.registrationEnabled ? 'on' : '',
    email_verification_required: s.emailVerificationRequired ? 'on' : '',
    session_idle_ttl_seconds: String(s.sessionIdleTTLSeconds),
    session_absolute_ttl_seconds: String(s.sessionAbsoluteTTLSeconds),
    access_token_ttl_seconds: String(s.accessTokenTTLSeconds),
    refresh_token_ttl_seconds: String(s.refreshTokenTTLSeconds),
    cookie_same_site: s.cookieSameSite,
    signing_algorithm: s.signingAlgorithm,
    mfa_policy: s.mfa.policy,
    mfa_admin_roles: s.mfa.adminRoles.join('\n'),
    cors_origins: tenant.corsOrigins.join('\n'),
    hostnames: tenant.hostnames.join('\n'),
  };
}

function select(name: string, label: string, options: readonly string[], value: string): Markup {
  return html`<div class="field">
    <label for="${name}">${label}</label>
    <select id="${name}" name="${name}">
      ${options.map((o) => html`<option value="${o}" ${o === value ? 'selected' : ''}>${o}</option>`)}
    </select>
  </div>`;
}

export function settingsForm(
  c: Context<AdminEnv>,
  slug: string,
  values: Record<string, string>,
  errors: FieldError[] = [],
): Markup {
  return html`<form method="post" action="${consoleBase(c)}/tenants/${slug}/settings" novalidate>
    ${csrfField(c)}
    ${field({ name: 'name', label: 'Name', value: values.name ?? '', autocomplete: 'off' }, errors)}
    ${checkbox('registration_enabled', 'Registration open', values.registration_enabled === 'on')}
    ${checkbox('email_verification_required', 'Email verification required', values.email_verification_required === 'on')}
    ${TTL_FIELDS.map(([name, label]) => field({ name, label, value: values[name] ?? '', inputmode: 'numeric', autocomplete: 'off' }, errors))}
    ${select('cookie_same_site', 'Session cookie SameSite', SAME_SITE, values.cookie_same_site ?? 'Lax')}
    ${select('signing_algorithm', 'Signing algorithm (a change rotates in a new key)', ALGORITHMS, values.signing_algorithm ?? 'ES256')}
    ${select('mfa_policy', 'MFA policy', MFA_POLICIES, values.mfa_policy ?? 'optional')}
    ${textarea({ name: 'mfa_admin_roles', label: 'Roles that count as admin (MFA)', hint: 'One role per line', value: values.mfa_admin_roles ?? '' }, errors)}
    ${textarea({ name: 'cors_origins', label: 'CORS origins', hint: 'One origin per line, e.g. https://app.example.com', value: values.cors_origins ?? '' }, errors)}
    ${textarea({ name: 'hostnames', label: 'Custom hostnames', hint: 'One hostname per line', value: values.hostnames ?? '' }, errors)}
    <button type="submit">Save settings</button>
  </form>`;
}

/** A whole number as typed, or the text itself (the schema then names the field). */
function integer(value: string | undefined): unknown {
  const text = (value ?? '').trim();
  return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
}

/** The form as the API's PATCH body: every field present, so it is a whole replacement. */
function patchBody(form: Record<string, string>): unknown {
  return {
    name: form.name ?? '',
    settings: {
      registration_enabled: form.registration_enabled === 'on',
      email_verification_required: form.email_verification_required === 'on',
      ...Object.fromEntries(TTL_FIELDS.map(([name]) => [name, integer(form[name])])),
      cookie_same_site: form.cookie_same_site,
      signing_algorithm: form.signing_algorithm,
      mfa: { policy: form.mfa_policy, admin_roles: lines(form.mfa_admin_roles) },
    },
    cors_origins: lines(form.cors_origins),
    hostnames: lines(form.hostnames),
  };
}

/**
 * The API's PATCH schema over the form; a nested error (settings.x, settings.mfa.y) points at
 * its form field (x, mfa_y).
 */
function parseSettings(form: Record<string, string>) {
  const result = updateTenantRequestSchema.safeParse(patchBody(form));
  if (result.success) return { ok: true as const, data: result.data };
  const errors: FieldError[] = result.error.issues.map((issue) => {
    const [top, second, third] = issue.path.map(String);
    const name = top === 'settings' ? (second === 'mfa' ? `mfa_${third}` : second) : top;
    return name === undefined
      ? { message: issue.message }
      : { field: name, message: `${name.replace(/_/g, ' ')}: ${issue.message}` };
  });
  return { ok: false as const, errors };
}

/** Saves the settings through the API's update service (audited); PRG to the tenant's page. */
consoleTenantSettingsRoutes.post('/tenants/:slug/settings', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  const { form } = read;
  const rerender = (errors: FieldError[], status: ReturnType<typeof errorStatus>) =>
    renderConsole(c, {
      title: `Settings of ${slug}`,
      section: 'tenants',
      status,
      errors,
      body: settingsForm(c, slug, form, errors),
    });
  const parsed = parseSettings(form);
  if (!parsed.ok) return rerender(parsed.errors, 400);
  try {
    await updateTenantByAdmin(c.var.deps, slug, parsed.data, adminActor(c));
    return c.redirect(`${consoleBase(c)}/tenants/${slug}?done=settings_saved`, 303);
  } catch (error) {
    return rerender(formErrors(error), errorStatus(error));
  }
});

/** Rotates in a new signing key through the API's service (audited); PRG to the tenant's page. */
consoleTenantSettingsRoutes.post('/tenants/:slug/signing-keys/rotate', async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const read = await readConsoleForm(c);
  if ('refused' in read) return read.refused;
  try {
    await rotateSigningKeyByAdmin(c.var.deps, slug, undefined, adminActor(c));
  } catch (error) {
    return renderConsole(c, {
      title: 'Key not rotated',
      section: 'tenants',
      status: errorStatus(error),
      errors: formErrors(error),
      body: html`<p><a href="${consoleBase(c)}/tenants/${slug}">Back to the tenant</a></p>`,
    });
  }
  return c.redirect(`${consoleBase(c)}/tenants/${slug}?done=key_rotated`, 303);
});

/** The rotate button for the tenant's page. */
export function rotateButton(c: Context<AdminEnv>, slug: string): Markup {
  return postButton(
    c,
    `${consoleBase(c)}/tenants/${slug}/signing-keys/rotate`,
    'Rotate signing key',
    {
      secondary: true,
    },
  );
}
