import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { newSessionSchema, userSchema } from '../accounts/docs.ts';
import {
  forgotPasswordBody,
  otpRequestBody,
  otpVerifyBody,
  resetPasswordBody,
  verifyEmailBody,
} from './routes.ts';

const accepted = z.object({ status: z.literal('accepted'), message: z.string() });

const secondFactor = z.object({
  mfa_required: z.literal(true),
  mfa_token: z.string(),
  methods: z.array(z.enum(['totp', 'recovery_code', 'passkey'])),
  enrollment_required: z.literal(true).optional(),
  expires_at: z.iso.datetime(),
});

const rateLimited = { description: '`rate_limited` (Retry-After) or `rate_limiter_unavailable`' };

export const emailDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/auth/email/verify',
    summary:
      'Verify the email address with the token from the verification mail (the link carries it as `#token=`)',
    tag: 'email',
    auth: 'none',
    body: verifyEmailBody,
    responses: {
      200: { description: 'verified', schema: z.object({ status: z.literal('verified') }) },
      400: {
        description:
          '`invalid_verification_token`: used, expired, unknown, or for an address since changed',
      },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/email/verify/resend',
    summary: 'Mail a new verification link to the signed-in user (3 an hour)',
    tag: 'email',
    auth: 'session',
    responses: {
      202: { description: 'sent', schema: z.object({ status: z.literal('sent') }) },
      200: {
        description: 'the address is already verified; nothing sent',
        schema: z.object({ status: z.literal('already_verified') }),
      },
      429: rateLimited,
    },
  },
  {
    method: 'post',
    path: '/v1/auth/password/forgot',
    summary:
      'Mail a password-reset link. The same 202 and body whether or not the address has an account',
    tag: 'email',
    auth: 'none',
    body: forgotPasswordBody,
    responses: {
      202: { description: 'accepted', schema: accepted },
      429: rateLimited,
    },
  },
  {
    method: 'post',
    path: '/v1/auth/password/reset',
    summary:
      'Set a new password with the token from the reset mail; signs out every session and verifies the address',
    tag: 'email',
    auth: 'none',
    body: resetPasswordBody,
    responses: {
      200: {
        description: 'reset',
        schema: z.object({ status: z.literal('reset'), sessions_revoked: z.literal('all') }),
      },
      400: {
        description: '`invalid_reset_token` (used, expired or unknown) or a password rule',
      },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/email-otp/request',
    summary:
      'Mail a 6-digit sign-in code (tenants opt in). The same 202 and body whether or not the address has an account',
    tag: 'email',
    auth: 'none',
    body: otpRequestBody,
    responses: {
      202: { description: 'accepted', schema: accepted },
      403: { description: '`email_otp_disabled`' },
      429: rateLimited,
    },
  },
  {
    method: 'post',
    path: '/v1/auth/email-otp/verify',
    summary:
      'Sign in with the mailed code; sets the session cookie, or answers with the second-factor step',
    tag: 'email',
    auth: 'none',
    body: otpVerifyBody,
    responses: {
      200: {
        description: 'signed in, or a second factor is due',
        schema: z.union([z.object({ user: userSchema, session: newSessionSchema }), secondFactor]),
      },
      401: { description: '`invalid_code`, the same for every reason' },
      403: { description: '`email_otp_disabled`' },
      429: rateLimited,
    },
  },
];
