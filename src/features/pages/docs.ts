import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';

const HTML = { description: 'HTML page', mediaType: 'text/html' };
const FORM = 'application/x-www-form-urlencoded';
const csrf = z.string().describe('the page’s CSRF token (double-submitted with its cookie)');
const returnTo = z.string().optional().describe('`/oauth2/authorize?…` to return to');
const returnToQuery = z.object({ return_to: returnTo });

function page(path: string, summary: string, query?: z.ZodObject): RouteDoc {
  return {
    method: 'get',
    path,
    summary,
    tag: 'hosted pages',
    auth: 'none',
    ...(query === undefined ? {} : { query }),
    responses: { 200: HTML, 303: { description: 'redirect' }, 404: HTML },
  };
}

function form(path: string, summary: string, fields: z.ZodRawShape): RouteDoc {
  return {
    method: 'post',
    path,
    summary,
    tag: 'hosted pages',
    auth: 'none',
    body: z.object({ csrf_token: csrf, ...fields }),
    bodyMediaType: FORM,
    responses: {
      200: HTML,
      303: { description: 'on to the next step, or back to return_to' },
      400: HTML,
      401: HTML,
      403: {
        description: 'HTML: CSRF token or Origin refused; nothing written',
        mediaType: 'text/html',
      },
      429: HTML,
    },
  };
}

/** The hosted pages (src/features/pages): HTML for browsers, documented so the router and the document agree. */
export const pageDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/assets/:name',
    summary: 'Content-hashed CSS/JS of the hosted pages (immutable)',
    tag: 'hosted pages',
    auth: 'none',
    responses: { 200: { description: 'CSS or JavaScript' }, 404: { description: 'no such asset' } },
  },
  {
    method: 'get',
    path: '/branding.css',
    summary: 'The tenant’s accent colour as a stylesheet',
    tag: 'hosted pages',
    auth: 'none',
    responses: { 200: { description: 'CSS', mediaType: 'text/css' } },
  },
  page(
    '/login',
    'Sign-in page',
    z.object({ return_to: returnTo, login_hint: z.string().optional() }),
  ),
  form('/login', 'Sign in with email and password', {
    email: z.string(),
    password: z.string(),
    return_to: returnTo,
  }),
  page('/mfa', 'Second-factor page (needs the MFA cookie)', returnToQuery),
  form('/mfa', 'Complete sign-in with a TOTP or recovery code', {
    code: z.string(),
    return_to: returnTo,
  }),
  form('/mfa/start', 'Hand an MFA token from the passkey script to the MFA page', {
    mfa_token: z.string(),
    return_to: returnTo,
  }),
  page('/register', 'Sign-up page', returnToQuery),
  form('/register', 'Create an account', {
    email: z.string(),
    password: z.string(),
    name: z.string().optional(),
    return_to: returnTo,
  }),
  page('/consent', 'Consent page for an authorize request (session required)', returnToQuery),
  form('/consent', 'Allow or deny the client', {
    return_to: z.string(),
    decision: z.enum(['allow', 'deny']),
  }),
  page('/forgot-password', 'Ask for a password-reset link', returnToQuery),
  form('/forgot-password', 'Send a password-reset link', {
    email: z.string(),
    return_to: returnTo,
  }),
  page(
    '/reset-password',
    'New-password page; `?token=` moves the token into a cookie',
    z.object({ token: z.string().optional() }),
  ),
  form('/reset-password', 'Set the new password', { new_password: z.string() }),
  page(
    '/verify-email',
    'Verification page; `?token=` moves the token into a cookie',
    z.object({ token: z.string().optional() }),
  ),
  form('/verify-email', 'Verify the address (a button: never on GET)', {}),
  page('/email-code', 'Sign in with a code by email', returnToQuery),
  form('/email-code', 'Request a code, then sign in with it', {
    step: z.enum(['request', 'verify']),
    email: z.string(),
    code: z.string().optional(),
    return_to: returnTo,
  }),
  page('/signed-in', 'Landing page after a sign-in without return_to'),
  page('/signed-out', 'Landing page after sign-out'),
];
