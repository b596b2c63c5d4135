import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';

const FORM = 'application/x-www-form-urlencoded';
const form = z.record(z.string(), z.string());
const oidc = 'openid-connect';

const tokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
  scope: z.string(),
  id_token: z.string().optional(),
  refresh_token: z.string().optional(),
});

/**
 * The OpenID Connect provider's routes. Their parameters are the specs' (discovery lists the
 * endpoints); this keeps the OpenAPI document complete, with our error codes.
 */
export const oidcDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/.well-known/openid-configuration',
    summary: 'OpenID Connect Discovery 1.0 provider metadata',
    tag: oidc,
    auth: 'none',
    responses: { 200: { description: 'provider metadata' } },
  },
  ...(['get', 'post'] as const).map((method): RouteDoc => ({
    method,
    path: '/oauth2/authorize',
    summary: 'Authorization endpoint (code flow, PKCE S256; OIDC Core §3.1.2)',
    tag: oidc,
    auth: 'session',
    ...(method === 'post' ? { body: form, bodyMediaType: FORM } : {}),
    responses: {
      302: { description: 'to the client (code or error, with state and iss), /login or /consent' },
      400: { description: 'HTML page: unknown client or unregistered redirect_uri (no redirect)' },
    },
  })),
  {
    method: 'post',
    path: '/oauth2/token',
    summary: 'Token endpoint: authorization_code, refresh_token, client_credentials',
    tag: oidc,
    auth: 'none',
    body: form,
    bodyMediaType: FORM,
    responses: {
      200: { description: 'tokens (RFC 6749 §5.1)', schema: tokenAnswer },
      400: {
        description:
          '`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`',
      },
      401: { description: '`invalid_client`' },
    },
  },
  ...(['get', 'post'] as const).map((method): RouteDoc => ({
    method,
    path: '/oauth2/userinfo',
    summary: "UserInfo (OIDC Core §5.3): the user's claims by the access token's scope",
    tag: oidc,
    auth: 'session_or_bearer',
    responses: {
      200: {
        description:
          'claims by scope: `profile` → name, picture (absent without an avatar), updated_at; `email` → email, email_verified; `roles` → roles',
        schema: z.object({ sub: z.string() }).catchall(z.unknown()),
      },
      401: { description: '`invalid_token` (RFC 6750 challenge)' },
      403: { description: '`insufficient_scope`: no openid scope' },
    },
  })),
  {
    method: 'post',
    path: '/oauth2/introspect',
    summary: "Token introspection (RFC 7662), client-authenticated; only the caller's tokens",
    tag: oidc,
    auth: 'none',
    body: form,
    bodyMediaType: FORM,
    responses: {
      200: { description: '`{active: false}` or the token metadata' },
      401: { description: '`invalid_client`' },
    },
  },
  {
    method: 'post',
    path: '/oauth2/revoke',
    summary: 'Token revocation (RFC 7009), client-authenticated; revokes the whole grant',
    tag: oidc,
    auth: 'none',
    body: form,
    bodyMediaType: FORM,
    responses: {
      200: { description: 'revoked, or nothing to revoke' },
      401: { description: '`invalid_client`' },
    },
  },
  ...(['get', 'post'] as const).map((method): RouteDoc => ({
    method,
    path: '/oauth2/logout',
    summary: 'RP-Initiated Logout 1.0 (id_token_hint, post_logout_redirect_uri, state)',
    tag: oidc,
    auth: 'session',
    ...(method === 'post' ? { body: form, bodyMediaType: FORM } : {}),
    responses: {
      200: { description: 'HTML confirmation page (no id_token_hint)', mediaType: 'text/html' },
      303: { description: 'to post_logout_redirect_uri or {issuer}/signed-out' },
      400: { description: 'HTML page: invalid hint or unregistered post_logout_redirect_uri' },
    },
  })),
];
