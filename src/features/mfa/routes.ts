import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { requestSession, requireSession } from '../sessions/routes.ts';
import { deliverSession, sessionDelivery } from '../sessions/delivery.ts';
import {
  completeMfaChallenge,
  disableTOTP,
  enrollTOTP,
  loadLiveMfaToken,
  mfaStatus,
  regenerateRecoveryCodes,
  verifyTOTPEnrolment,
  type EnrolSubject,
} from './service.ts';

const mfaToken = z.string().min(20).max(200);
const code = z.string().trim().min(1).max(64);

export const totpEnrollBody = z.object({ mfa_token: mfaToken.optional() });
export const totpVerifyBody = z.object({
  code,
  mfa_token: mfaToken.optional(),
  /** Only with `mfa_token` (a sign-in that ends in enrolment): how the new session is handed over. */
  session_delivery: sessionDelivery,
});
export const totpDisableBody = z.object({
  code: code.optional(),
  password: z.string().min(1).max(1024).optional(),
});
export const recoveryRegenerateBody = totpDisableBody;
export const mfaChallengeBody = z.object({
  mfa_token: mfaToken,
  code,
  session_delivery: sessionDelivery,
});

/** The signed-in user (cookie, Origin-checked; or bearer), or the holder of an `enroll` MFA token. */
async function enrolSubject(c: Context<AppEnv>, token: string | undefined): Promise<EnrolSubject> {
  const { deps, tenantScope } = c.var;
  if (token !== undefined)
    return { kind: 'token', loaded: await loadLiveMfaToken(deps, tenantScope, token, 'enroll') };
  return { kind: 'session', auth: await requestSession(c, { write: true }) };
}

export const mfaRoutes = new Hono<AppEnv>();

mfaRoutes.get('/v1/auth/mfa', requireSession({ write: false }), async (c) => {
  return c.json(await mfaStatus(c.var.deps, c.var.auth));
});

mfaRoutes.post('/v1/auth/mfa/totp/enroll', async (c) => {
  const input = await readJSON(c, totpEnrollBody);
  const enrolment = await enrollTOTP(c.var.deps, await enrolSubject(c, input.mfa_token));
  c.header('Cache-Control', 'no-store');
  return c.json({
    secret: enrolment.secret,
    otpauth_uri: enrolment.otpauthURI,
    qr_svg: enrolment.qrSVG,
  });
});

mfaRoutes.post('/v1/auth/mfa/totp/verify', async (c) => {
  const input = await readJSON(c, totpVerifyBody);
  const { deps } = c.var;
  const subject = await enrolSubject(c, input.mfa_token);
  const result = await verifyTOTPEnrolment(deps, subject, input.code, clientInfo(c));
  c.header('Cache-Control', 'no-store');
  const signedIn = result.signedIn;
  const delivered =
    signedIn === null ? {} : await deliverSession(c, signedIn, input.session_delivery);
  return c.json({
    status: 'enabled',
    // Shown once: only hashes are kept.
    recovery_codes: result.recoveryCodes,
    ...(signedIn === null ? {} : { user: signedIn.user, session: signedIn.session }),
    ...delivered,
  });
});

mfaRoutes.post('/v1/auth/mfa/totp/disable', requireSession({ write: true }), async (c) => {
  const input = await readJSON(c, totpDisableBody);
  await disableTOTP(c.var.deps, c.var.auth, input, clientInfo(c));
  return c.json({ status: 'disabled' });
});

mfaRoutes.get('/v1/auth/mfa/recovery-codes', requireSession({ write: false }), async (c) => {
  const status = await mfaStatus(c.var.deps, c.var.auth);
  return c.json({ remaining: status.recovery_codes.remaining });
});

mfaRoutes.post(
  '/v1/auth/mfa/recovery-codes/regenerate',
  requireSession({ write: true }),
  async (c) => {
    const input = await readJSON(c, recoveryRegenerateBody);
    const codes = await regenerateRecoveryCodes(c.var.deps, c.var.auth, input, clientInfo(c));
    c.header('Cache-Control', 'no-store');
    return c.json({ recovery_codes: codes });
  },
);

mfaRoutes.post('/v1/auth/mfa/challenge', async (c) => {
  const input = await readJSON(c, mfaChallengeBody);
  const { deps, tenantScope } = c.var;
  const signedIn = await completeMfaChallenge(deps, tenantScope, input, clientInfo(c));
  const delivered = await deliverSession(c, signedIn, input.session_delivery);
  // A recovery code used voids the rest: the answer says so, and to make a new set.
  const recovery = signedIn.recoveryCodeUsed
    ? { recovery_codes_remaining: 0, regenerate_recovery_codes: true }
    : {};
  return c.json({ user: signedIn.user, session: signedIn.session, ...recovery, ...delivered });
});
