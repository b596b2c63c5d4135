import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { deliverSession, sessionDelivery } from '../sessions/delivery.ts';
import { requireSession } from '../sessions/routes.ts';
import {
  authenticateWithPasskey,
  authenticationOptions,
  deleteOwnPasskey,
  passkeysOf,
  registerPasskey,
  registrationOptions,
  renameOwnPasskey,
} from './service.ts';

const b64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url')
  .max(16_384);

// The shapes @simplewebauthn/browser sends (WebAuthn L3 §5.1 toJSON()); the library checks the rest.
export const registrationResponseBody = z.object({
  response: z.object({
    id: b64url.min(1),
    rawId: b64url.min(1),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: b64url.min(1),
      attestationObject: b64url.min(1),
      transports: z.array(z.string().max(32)).max(10).optional(),
    }),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  }),
  name: z.string().trim().min(1).max(100).optional(),
});

export const authenticationResponseBody = z.object({
  response: z.object({
    id: b64url.min(1),
    rawId: b64url.min(1),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: b64url.min(1),
      authenticatorData: b64url.min(1),
      signature: b64url.min(1),
      userHandle: b64url.optional(),
    }),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  }),
  session_delivery: sessionDelivery,
});

export const renameBody = z.object({ name: z.string().trim().min(1).max(100) });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const passkeyRoutes = new Hono<AppEnv>();

passkeyRoutes.post(
  '/v1/auth/passkeys/register/options',
  requireSession({ write: true }),
  async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await registrationOptions(c.var.deps, c.var.auth, c.var.tenantScope));
  },
);

passkeyRoutes.post(
  '/v1/auth/passkeys/register/verify',
  requireSession({ write: true }),
  async (c) => {
    const input = await readJSON(c, registrationResponseBody);
    const result = await registerPasskey(
      c.var.deps,
      c.var.auth,
      c.var.tenantScope,
      { response: input.response as RegistrationResponseJSON, name: input.name },
      clientInfo(c),
    );
    c.header('Cache-Control', 'no-store');
    return c.json({ passkey: result.passkey, recovery_codes: result.recoveryCodes }, 201);
  },
);

passkeyRoutes.post('/v1/auth/passkeys/authenticate/options', async (c) => {
  c.header('Cache-Control', 'no-store');
  return c.json(await authenticationOptions(c.var.deps, c.var.tenantScope));
});

passkeyRoutes.post('/v1/auth/passkeys/authenticate/verify', async (c) => {
  const input = await readJSON(c, authenticationResponseBody);
  const { deps, tenantScope } = c.var;
  const result = await authenticateWithPasskey(
    deps,
    tenantScope,
    input.response as AuthenticationResponseJSON,
    clientInfo(c),
  );
  if (result.kind === 'mfa') return c.json(result.answer);
  const { signedIn } = result;
  const delivered = await deliverSession(c, signedIn, input.session_delivery);
  return c.json({ user: signedIn.user, session: signedIn.session, ...delivered });
});

passkeyRoutes.get('/v1/auth/passkeys', requireSession({ write: false }), async (c) => {
  const passkeys = await passkeysOf(c.var.deps, c.var.auth);
  return c.json({
    passkeys: passkeys.map((p) => ({
      id: p.id,
      name: p.name,
      device_type: p.deviceType,
      backed_up: p.backedUp,
      transports: p.transports,
      created_at: p.createdAt.toISOString(),
      last_used_at: p.lastUsedAt?.toISOString() ?? null,
    })),
  });
});

passkeyRoutes.patch('/v1/auth/passkeys/:id', requireSession({ write: true }), async (c) => {
  const id = c.req.param('id');
  if (!UUID.test(id)) throw new AppError('not_found', 'no such passkey');
  const input = await readJSON(c, renameBody);
  await renameOwnPasskey(c.var.deps, c.var.auth, id, input.name);
  return c.json({ id, name: input.name });
});

passkeyRoutes.delete('/v1/auth/passkeys/:id', requireSession({ write: true }), async (c) => {
  const id = c.req.param('id');
  if (!UUID.test(id)) throw new AppError('not_found', 'no such passkey');
  await deleteOwnPasskey(c.var.deps, c.var.auth, id, clientInfo(c));
  return c.json({ status: 'deleted' });
});
