import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { deliverSession, sessionDelivery } from '../sessions/delivery.ts';
import { requireSession } from '../sessions/routes.ts';
import {
  changePassword,
  login,
  organizations,
  register,
  switchActiveOrganization,
} from './service.ts';

// The schemas double as the API contract (the OpenAPI document is generated from them).
export const registerBody = z.object({
  email: z.string().trim().max(254).pipe(z.email()),
  password: z.string().min(1).max(1024),
  name: z.string().trim().min(1).max(200).optional(),
  organization_name: z.string().trim().min(1).max(200).optional(),
  session_delivery: sessionDelivery,
});

export const loginBody = z.object({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
  session_delivery: sessionDelivery,
});

export const passwordChangeBody = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(1).max(1024),
});

export const switchOrganizationBody = z.object({ organization_id: z.uuid() });

export const accountRoutes = new Hono<AppEnv>();

accountRoutes.post('/v1/auth/register', async (c) => {
  const input = await readJSON(c, registerBody);
  const { deps, tenantScope } = c.var;
  const signedIn = await register(deps, tenantScope, input, clientInfo(c));
  // The tenant requires a verified address: the account exists, the session waits for it.
  if (!('token' in signedIn))
    return c.json({ user: signedIn.user, session: null, email_verification_required: true }, 201);
  const delivered = await deliverSession(c, signedIn, input.session_delivery);
  return c.json({ user: signedIn.user, session: signedIn.session, ...delivered }, 201);
});

accountRoutes.post('/v1/auth/login', async (c) => {
  const input = await readJSON(c, loginBody);
  const { deps, tenantScope } = c.var;
  const signedIn = await login(deps, tenantScope, input, clientInfo(c));
  if ('mfa_required' in signedIn) return c.json(signedIn);
  const delivered = await deliverSession(c, signedIn, input.session_delivery);
  return c.json({ user: signedIn.user, session: signedIn.session, ...delivered });
});

accountRoutes.post('/v1/auth/password/change', requireSession({ write: true }), async (c) => {
  const input = await readJSON(c, passwordChangeBody);
  await changePassword(c.var.deps, c.var.auth, input, clientInfo(c));
  return c.json({ status: 'changed', other_sessions_revoked: true });
});

accountRoutes.get('/v1/auth/organizations', requireSession({ write: false }), async (c) => {
  const memberships = await organizations(c.var.deps, c.var.auth);
  return c.json({
    active_organization_id: c.var.auth.session.activeOrganizationId,
    organizations: memberships.map((m) => ({
      id: m.organizationId,
      name: m.name,
      role: m.role,
      joined_at: m.createdAt.toISOString(),
    })),
  });
});

accountRoutes.post('/v1/auth/organizations/switch', requireSession({ write: true }), async (c) => {
  const input = await readJSON(c, switchOrganizationBody);
  const role = await switchActiveOrganization(c.var.deps, c.var.auth, input.organization_id);
  return c.json({ active_organization_id: input.organization_id, role });
});
