import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { deliveredTokensSchema } from '../sessions/delivery.ts';
import { loginBody, passwordChangeBody, registerBody, switchOrganizationBody } from './routes.ts';

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  email_verified: z.boolean(),
  created_at: z.iso.datetime(),
});

export const newSessionSchema = z.object({
  id: z.uuid(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  active_organization_id: z.uuid().nullable(),
  role: z.string().nullable(),
});

// `tokens` only when the sign-in asked for `session_delivery: "token"` (then no cookie is set).
export const signedInSchema = z.object({
  user: userSchema,
  session: newSessionSchema,
  tokens: deliveredTokensSchema.optional(),
});
const signedIn = signedInSchema;

/** The login's second step (src/features/mfa/login-gate.ts): no session yet, a factor to present. */
export const secondFactorRequiredSchema = z.object({
  mfa_required: z.literal(true),
  mfa_token: z.string(),
  methods: z.array(z.enum(['totp', 'recovery_code', 'passkey'])),
  enrollment_required: z.literal(true).optional(),
  expires_at: z.iso.datetime(),
});

export const accountDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/auth/register',
    summary:
      'Create an account (and optionally an organization it owns) and mail a verification link; sets the session cookie unless the tenant requires a verified address first',
    tag: 'end-user',
    auth: 'none',
    body: registerBody,
    responses: {
      201: {
        description:
          'registered and signed in; or, with `email_verification_required`, registered with `session: null` and no cookie',
        schema: z.union([
          signedIn,
          z.object({
            user: userSchema,
            session: z.null(),
            email_verification_required: z.literal(true),
          }),
        ]),
      },
      400: { description: 'invalid input or a password rule (`password_too_short`, …)' },
      409: { description: '`email_taken`' },
      429: { description: '`rate_limited`' },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/login',
    summary: 'Sign in with email and password; sets the session cookie',
    tag: 'end-user',
    auth: 'none',
    body: loginBody,
    responses: {
      200: {
        description:
          'signed in; or, with `mfa_required`, a second factor is due (`POST /v1/auth/mfa/challenge` with the `mfa_token`)',
        schema: z.union([signedIn, secondFactorRequiredSchema]),
      },
      401: { description: '`invalid_credentials`, the same for every reason' },
      403: {
        description:
          '`email_not_verified`: right password, but the tenant requires a verified address (a new link is mailed; `verification_sent`)',
      },
      429: { description: '`rate_limited`' },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/password/change',
    summary: 'Change the password; revokes every other session',
    tag: 'end-user',
    auth: 'session',
    body: passwordChangeBody,
    responses: {
      200: {
        description: 'changed',
        schema: z.object({ status: z.literal('changed'), other_sessions_revoked: z.boolean() }),
      },
    },
  },
  {
    method: 'get',
    path: '/v1/auth/organizations',
    summary: "The signed-in user's memberships",
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: {
        description: 'memberships',
        schema: z.object({
          active_organization_id: z.uuid().nullable(),
          organizations: z.array(
            z.object({
              id: z.uuid(),
              name: z.string(),
              role: z.string(),
              joined_at: z.iso.datetime(),
            }),
          ),
        }),
      },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/organizations/switch',
    summary: "Switch the session's active organization (it and the role go into access tokens)",
    tag: 'end-user',
    auth: 'session',
    body: switchOrganizationBody,
    responses: {
      200: {
        description: 'switched',
        schema: z.object({ active_organization_id: z.uuid(), role: z.string() }),
      },
      404: { description: 'not a member' },
    },
  },
];
