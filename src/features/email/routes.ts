import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { deliverSession, sessionDelivery } from '../sessions/delivery.ts';
import { requireSession } from '../sessions/routes.ts';
import { requestEmailOTP, verifyEmailOTP } from './otp.ts';
import { requestPasswordReset, resendVerification, resetPassword, verifyEmail } from './service.ts';

// The schemas double as the API contract (the OpenAPI document is generated from them).
const token = z.string().min(1).max(200);
const email = z.string().trim().min(1).max(254);

export const verifyEmailBody = z.object({ token });
export const forgotPasswordBody = z.object({ email });
export const resetPasswordBody = z.object({ token, new_password: z.string().min(1).max(1024) });
export const otpRequestBody = z.object({ email });
export const otpVerifyBody = z.object({
  email,
  code: z.string().trim().min(1).max(32),
  session_delivery: sessionDelivery,
});

/** One answer for every address, known or not: nothing here tells whether a mail was sent. */
export const ACCEPTED = {
  status: 'accepted',
  message: 'If an account exists for this address, a mail is on its way to it.',
} as const;

export const emailRoutes = new Hono<AppEnv>();

emailRoutes.post('/v1/auth/email/verify', async (c) => {
  const input = await readJSON(c, verifyEmailBody);
  await verifyEmail(c.var.deps, c.var.tenantScope, input.token, clientInfo(c));
  return c.json({ status: 'verified' });
});

emailRoutes.post('/v1/auth/email/verify/resend', requireSession({ write: true }), async (c) => {
  const status = await resendVerification(c.var.deps, c.var.auth, clientInfo(c));
  return c.json({ status }, status === 'sent' ? 202 : 200);
});

emailRoutes.post('/v1/auth/password/forgot', async (c) => {
  const input = await readJSON(c, forgotPasswordBody);
  await requestPasswordReset(c.var.deps, c.var.tenantScope, input, clientInfo(c));
  return c.json(ACCEPTED, 202);
});

emailRoutes.post('/v1/auth/password/reset', async (c) => {
  const input = await readJSON(c, resetPasswordBody);
  await resetPassword(c.var.deps, c.var.tenantScope, input, clientInfo(c));
  return c.json({ status: 'reset', sessions_revoked: 'all' });
});

emailRoutes.post('/v1/auth/email-otp/request', async (c) => {
  const input = await readJSON(c, otpRequestBody);
  await requestEmailOTP(c.var.deps, c.var.tenantScope, input, clientInfo(c));
  return c.json(ACCEPTED, 202);
});

emailRoutes.post('/v1/auth/email-otp/verify', async (c) => {
  const input = await readJSON(c, otpVerifyBody);
  const { deps, tenantScope } = c.var;
  const signedIn = await verifyEmailOTP(deps, tenantScope, input, clientInfo(c));
  if ('mfa_required' in signedIn) return c.json(signedIn);
  const delivered = await deliverSession(c, signedIn, input.session_delivery);
  return c.json({ user: signedIn.user, session: signedIn.session, ...delivered });
});

/** Held to the credential timing floor (src/http/timing-floor.ts): they must not tell who exists. */
export const EMAIL_CREDENTIAL_PATHS = [
  '/v1/auth/email/verify',
  '/v1/auth/password/forgot',
  '/v1/auth/password/reset',
  '/v1/auth/email-otp/request',
  '/v1/auth/email-otp/verify',
];
