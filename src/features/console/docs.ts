import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { SCOPES } from '../apikeys/scopes.ts';

const HTML = { description: 'HTML page', mediaType: 'text/html' };
const FORM = 'application/x-www-form-urlencoded';
const csrf = z.string().describe('the page’s CSRF token (double-submitted with its cookie)');

function page(path: string, summary: string, auth: RouteDoc['auth'] = 'admin'): RouteDoc {
  return {
    method: 'get',
    path,
    summary,
    tag: 'admin console',
    auth,
    responses: {
      200: HTML,
      303: { description: 'no operator session: on to /admin/login' },
      400: { description: 'a query parameter that is not allowed' },
      404: HTML,
    },
  };
}

function form(
  path: string,
  summary: string,
  fields: z.ZodRawShape = {},
  auth: RouteDoc['auth'] = 'admin',
): RouteDoc {
  return {
    method: 'post',
    path,
    summary,
    tag: 'admin console',
    auth,
    body: z.object({ csrf_token: csrf, ...fields }),
    bodyMediaType: FORM,
    responses: {
      200: HTML,
      303: { description: 'done: on to the page that shows it (POST → redirect → GET)' },
      400: HTML,
      401: HTML,
      403: {
        description: 'HTML: CSRF token or Origin refused; nothing written',
        mediaType: 'text/html',
      },
      404: { description: 'no such tenant or user' },
      409: HTML,
      429: HTML,
    },
  };
}

/** The admin console (src/features/console): HTML for operators' browsers. */
export const consoleDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/assets/:name',
    summary: 'The console’s content-hashed stylesheet (immutable)',
    tag: 'admin console',
    auth: 'none',
    responses: {
      200: { description: 'CSS', mediaType: 'text/css' },
      404: { description: 'no such asset' },
    },
  },
  page('/admin', 'The console: on to the tenants (or sign-in)', 'none'),
  page('/admin/', 'The console: on to the tenants (or sign-in)', 'none'),
  page('/admin/login', 'Operator sign-in page', 'none'),
  form('/admin/login', 'Operator sign-in', { email: z.string(), password: z.string() }, 'none'),
  page('/admin/setup', 'First run: create the first owner with the bootstrap code', 'none'),
  form(
    '/admin/setup',
    'First run: create the first owner (shows the recovery codes once)',
    { code: z.string(), email: z.string(), password: z.string() },
    'none',
  ),
  form('/admin/logout', 'Sign out (this session)'),
  page('/admin/tenants', 'Tenants, with the create form'),
  form('/admin/tenants', 'Create a tenant', {
    slug: z.string(),
    name: z.string(),
    cors_origins: z.string().optional().describe('one origin per line'),
    hostnames: z.string().optional().describe('one hostname per line'),
  }),
  page('/admin/tenants/:slug', 'One tenant: settings, CORS origins, hostnames, signing keys'),
  form('/admin/tenants/:slug/settings', 'Save a tenant’s settings, CORS origins and hostnames', {
    name: z.string(),
    session_idle_ttl_seconds: z.string(),
    cors_origins: z.string(),
    hostnames: z.string(),
  }),
  form('/admin/tenants/:slug/signing-keys/rotate', 'Rotate in a new signing key'),
  page('/admin/tenants/:slug/users', 'A tenant’s users: search, create, disable, delete'),
  form('/admin/tenants/:slug/users', 'Create a user', {
    email: z.string(),
    name: z.string().optional(),
    password: z.string().optional(),
    email_verified: z.literal('on').optional(),
  }),
  form('/admin/tenants/:slug/users/:id/disable', 'Disable a user (ends their sessions)'),
  form('/admin/tenants/:slug/users/:id/enable', 'Enable a user'),
  form('/admin/tenants/:slug/users/:id/delete', 'Delete a user (asks first)', {
    confirm: z.literal('yes').optional(),
  }),
  form('/admin/tenants/:slug/users/:id/sessions/revoke', 'End every session of a user'),
  page('/admin/audit', 'A tenant’s audit log with filters'),
  form('/admin/audit/verify', 'Verify a tenant’s audit chain', { tenant: z.string() }),
  page('/admin/backups', 'Export download form and the scheduled backups in R2'),
  form('/admin/backups/export', 'Download a tenant’s bkp1 archive', {
    tenant: z.string(),
    passphrase: z.string(),
  }),
  page('/admin/api-keys', 'API keys, with the create form'),
  form('/admin/api-keys', 'Create an API key (the key is shown once, on this response)', {
    name: z.string(),
    tenant: z.string().optional().describe('slug; empty: every tenant'),
    expires_at: z.string().optional().describe('ISO 8601 with offset; empty: never'),
    ...Object.fromEntries(
      SCOPES.map((s) => [`scope_${s}`, z.literal('on').optional().describe(`grants ${s}`)]),
    ),
  }),
  form('/admin/api-keys/:id/revoke', 'Revoke an API key'),
  page('/admin/tenants/:slug/users/:id', 'One user: live sessions, export link'),
  page('/admin/metrics', 'The /admin/api/v1/metrics figures as a table'),
];
