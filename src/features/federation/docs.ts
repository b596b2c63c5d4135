import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { adminDoc } from '../rbac/http.ts';
import {
  createProviderRequestSchema,
  providerListResponseSchema,
  providerResponseSchema,
  updateProviderRequestSchema,
} from './admin-routes.ts';

// OpenAPI entries of routes.ts and admin-routes.ts, built from the schemas the handlers use.

const TAG = 'admin: identity providers';
const notFound = { description: '`unknown_tenant`, or no such provider (`not_found`)' };

const identitySchema = z.object({
  id: z.uuid(),
  provider: z.string(),
  kind: z.enum(['google', 'github', 'oidc']),
  email: z.string().nullable(),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime().nullable(),
});

export const federationDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/auth/oauth/:provider/start',
    summary:
      'Start a sign-in (or, with intent=link and the session cookie, a link) through an upstream provider: 302 to it with state, PKCE and nonce',
    tag: 'end-user',
    auth: 'none',
    query: z.object({
      redirect_to: z
        .string()
        .optional()
        .describe("absolute URL whose origin is one of the tenant's cors_origins"),
      intent: z.enum(['sign_in', 'link']).optional(),
    }),
    responses: {
      302: { description: 'to the provider; sets the short-lived browser-binding cookie' },
      400: { description: '`invalid_request`: redirect_to off the allow-list; nothing written' },
      401: { description: 'intent=link without a session' },
      404: { description: 'no such (enabled) provider' },
      503: { description: '`provider_unavailable`: discovery did not answer' },
    },
  },
  {
    method: 'get',
    path: '/v1/auth/oauth/:provider/callback',
    summary:
      "The provider's redirect back: exchanges the code, validates the ID token, applies the linking rules, then the session (or the MFA step) and a 303 to redirect_to",
    tag: 'end-user',
    auth: 'none',
    responses: {
      303: { description: 'signed in or linked: to redirect_to or the tenant default' },
      400: { description: '`invalid_state`, `provider_error`, `invalid_request`' },
      401: { description: '`invalid_token`: the ID token failed a check' },
      403: {
        description:
          '`access_denied` (declined upstream, provider disabled, domain refused), `registration_closed`, `email_not_verified`; or the hosted enrolment notice',
      },
      409: { description: '`account_exists`, `identity_in_use`' },
      503: { description: '`provider_unavailable`' },
    },
  },
  {
    method: 'get',
    path: '/v1/auth/identities',
    summary: "The signed-in user's linked identities",
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'identities', schema: z.object({ identities: z.array(identitySchema) }) },
    },
  },
  {
    method: 'delete',
    path: '/v1/auth/identities/:id',
    summary: 'Unlink an identity (not the last way to sign in)',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'unlinked', schema: z.object({ status: z.literal('unlinked') }) },
      404: { description: 'no such identity of this user' },
      409: { description: '`last_sign_in_method`: nothing written' },
    },
  },
  adminDoc(
    'get',
    '/tenants/:slug/identity-providers',
    'tenants:read',
    "List the tenant's identity providers (never their secrets)",
    { responses: { 200: { description: 'providers', schema: providerListResponseSchema } } },
    TAG,
  ),
  adminDoc(
    'post',
    '/tenants/:slug/identity-providers',
    'tenants:write',
    'Add a google, github or generic oidc provider; the client secret is sealed and never answered',
    {
      body: createProviderRequestSchema,
      responses: {
        201: {
          description: 'created, with the callback_url to register',
          schema: providerResponseSchema,
        },
        400: { description: '`invalid_request`; nothing written' },
        404: notFound,
        409: { description: '`conflict`: a provider of this name exists' },
      },
    },
    TAG,
  ),
  adminDoc(
    'get',
    '/tenants/:slug/identity-providers/:name',
    'tenants:read',
    'Get an identity provider',
    {
      responses: {
        200: { description: 'the provider', schema: providerResponseSchema },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'patch',
    '/tenants/:slug/identity-providers/:name',
    'tenants:write',
    'Change an identity provider (enable, disable, rotate the secret, …)',
    {
      body: updateProviderRequestSchema,
      responses: {
        200: { description: 'the provider', schema: providerResponseSchema },
        400: { description: '`invalid_request`; nothing written' },
        404: notFound,
      },
    },
    TAG,
  ),
  adminDoc(
    'delete',
    '/tenants/:slug/identity-providers/:name',
    'tenants:write',
    'Delete an identity provider with its linked identities and pending sign-ins',
    {
      query: z.object({
        force: z
          .enum(['true', 'false'])
          .optional()
          .describe('delete even when it is some user’s only way to sign in'),
      }),
      responses: {
        200: { description: 'deleted', schema: z.object({ status: z.literal('deleted') }) },
        404: notFound,
        409: {
          description:
            '`provider_in_use`: some users can sign in only through it (`stranded_users`); nothing written',
        },
      },
    },
    TAG,
  ),
];
