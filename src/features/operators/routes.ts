import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { readJSON } from '../../http/json.ts';
import { adminActor, adminEvent } from '../admin/audit.ts';
import { operatorOf, requireOperator, type AdminEnv } from '../admin/auth.ts';
import { pathUUID } from '../admin/pagination.ts';
import { completeBootstrap } from './bootstrap.ts';
import { clearOperatorCookie, writeOperatorCookie } from './cookie.ts';
import { OPERATOR_PASSWORD_MAX_LENGTH } from './password-policy.ts';
import {
  listOperatorSessions,
  listOperators,
  revokeOperatorSessions,
  withoutHash,
  type Operator,
} from './repo.ts';
import {
  changeOperatorPassword,
  createOperator,
  loginOperator,
  recoverOperator,
  regenerateRecoveryCodes,
} from './service.ts';
import { AppError } from '../../errors.ts';

const email = z.email().max(254);
// Upper bound in the schema too, so a huge body never reaches the hash (a cost amplifier).
const password = z
  .string()
  .min(1)
  .max(OPERATOR_PASSWORD_MAX_LENGTH * 4);

export const operatorSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(['owner', 'admin']),
  created_at: z.iso.datetime(),
});

export const bootstrapRequestSchema = z.strictObject({
  code: z.string().min(1).max(64),
  email,
  password,
});
export const bootstrapResponseSchema = z.object({
  operator: operatorSchema,
  recovery_codes: z.array(z.string()),
});
export const loginRequestSchema = z.strictObject({ email, password });
export const loginResponseSchema = z.object({
  operator: operatorSchema,
  session: z.object({ id: z.uuid(), expires_at: z.iso.datetime() }),
});
export const recoverRequestSchema = z.strictObject({
  email,
  recovery_code: z.string().min(1).max(64),
  new_password: password,
});
export const statusResponseSchema = z.object({ status: z.string() });
export const changePasswordRequestSchema = z.strictObject({
  current_password: password,
  new_password: password,
});
export const recoveryCodesRequestSchema = z.strictObject({ current_password: password });
export const recoveryCodesResponseSchema = z.object({ recovery_codes: z.array(z.string()) });
export const operatorSessionSchema = z.object({
  id: z.uuid(),
  current: z.boolean(),
  created_at: z.iso.datetime(),
  last_seen_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
});
export const operatorSessionsResponseSchema = z.object({
  sessions: z.array(operatorSessionSchema),
});
export const meResponseSchema = z.object({
  operator: operatorSchema,
  session: z.object({ id: z.uuid(), expires_at: z.iso.datetime() }),
});
export const createOperatorRequestSchema = z.strictObject({
  email,
  password,
  role: z.enum(['owner', 'admin']).default('admin'),
});
export const createOperatorResponseSchema = bootstrapResponseSchema;
export const operatorListResponseSchema = z.object({
  items: z.array(operatorSchema),
  total: z.number().int(),
});

export function operatorView(operator: Operator): z.infer<typeof operatorSchema> {
  return {
    id: operator.id,
    email: operator.email,
    role: operator.role,
    created_at: operator.createdAt.toISOString(),
  };
}

/** Routes that work without credentials: bootstrap, sign-in, recovery. */
export const operatorPublicRoutes = new Hono<AppEnv>();

operatorPublicRoutes.post('/bootstrap', async (c) => {
  const input = await readJSON(c, bootstrapRequestSchema);
  const { operator, recoveryCodes } = await completeBootstrap(c.var.deps, input, clientInfo(c));
  c.header('Cache-Control', 'no-store');
  return c.json({ operator: operatorView(operator), recovery_codes: recoveryCodes }, 201);
});

operatorPublicRoutes.post('/auth/login', async (c) => {
  const input = await readJSON(c, loginRequestSchema);
  const { deps } = c.var;
  const signedIn = await loginOperator(deps, input, clientInfo(c));
  writeOperatorCookie(c, deps.config, signedIn.token, signedIn.expiresAt);
  return c.json({
    operator: operatorView(signedIn.operator),
    session: { id: signedIn.sessionId, expires_at: signedIn.expiresAt.toISOString() },
  });
});

operatorPublicRoutes.post('/recover', async (c) => {
  const input = await readJSON(c, recoverRequestSchema);
  await recoverOperator(c.var.deps, input, clientInfo(c));
  return c.json({ status: 'password_reset' });
});

/** Routes for a signed-in operator (API keys are refused: they are for applications). */
export const operatorRoutes = new Hono<AdminEnv>();
operatorRoutes.use('/auth/*', requireOperator());
operatorRoutes.use('/me', requireOperator());
operatorRoutes.use('/me/*', requireOperator());
operatorRoutes.use('/operators', requireOperator());
operatorRoutes.use('/operators/*', requireOperator());

operatorRoutes.post('/auth/logout', async (c) => {
  const { deps } = c.var;
  const auth = operatorOf(c.var.admin);
  await revokeOperatorSessions(
    deps.db,
    auth.operator.id,
    { only: auth.session.id },
    deps.clock.now(),
    adminEvent(adminActor(c), 'admin.operator.logout', null, {
      type: 'operator_session',
      id: null,
    }),
  );
  clearOperatorCookie(c, deps.config);
  return c.json({ status: 'signed_out' });
});

operatorRoutes.get('/me', (c) => {
  const auth = operatorOf(c.var.admin);
  return c.json({
    operator: operatorView(withoutHash(auth.operator)),
    session: { id: auth.session.id, expires_at: auth.session.expiresAt.toISOString() },
  });
});

operatorRoutes.post('/me/password', async (c) => {
  const input = await readJSON(c, changePasswordRequestSchema);
  await changeOperatorPassword(c.var.deps, operatorOf(c.var.admin), input, adminActor(c));
  return c.json({ status: 'password_changed' });
});

operatorRoutes.post('/me/recovery-codes', async (c) => {
  const input = await readJSON(c, recoveryCodesRequestSchema);
  const codes = await regenerateRecoveryCodes(
    c.var.deps,
    operatorOf(c.var.admin),
    input.current_password,
    adminActor(c),
  );
  c.header('Cache-Control', 'no-store');
  return c.json({ recovery_codes: codes });
});

operatorRoutes.get('/me/sessions', async (c) => {
  const { deps } = c.var;
  const auth = operatorOf(c.var.admin);
  const sessions = await listOperatorSessions(deps.db, auth.operator.id, deps.clock.now());
  return c.json({
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === auth.session.id,
      created_at: s.createdAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      expires_at: s.expiresAt.toISOString(),
      ip: s.ip,
      user_agent: s.userAgent,
    })),
  });
});

operatorRoutes.delete('/me/sessions/:id', async (c) => {
  const { deps } = c.var;
  const auth = operatorOf(c.var.admin);
  const id = pathUUID(c.req.param('id'), 'session');
  const revoked = await revokeOperatorSessions(
    deps.db,
    auth.operator.id,
    { only: id },
    deps.clock.now(),
    adminEvent(adminActor(c), 'admin.operator_session.revoked', null, {
      type: 'operator_session',
      id: null,
    }),
  );
  if (revoked === 0) throw new AppError('not_found', 'no such session');
  if (id === auth.session.id) clearOperatorCookie(c, deps.config);
  return c.json({ status: 'revoked' });
});

operatorRoutes.get('/operators', async (c) => {
  const operators = await listOperators(c.var.deps.db);
  return c.json({ items: operators.map(operatorView), total: operators.length });
});

operatorRoutes.post('/operators', requireOperator({ role: 'owner' }), async (c) => {
  const input = await readJSON(c, createOperatorRequestSchema);
  const { operator, recoveryCodes } = await createOperator(c.var.deps, input, adminActor(c));
  c.header('Cache-Control', 'no-store');
  return c.json({ operator: operatorView(operator), recovery_codes: recoveryCodes }, 201);
});
