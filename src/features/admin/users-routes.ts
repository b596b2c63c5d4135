import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { pgErrorCode } from '../../db/schema-version.ts';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { checkPasswordPolicy, newSalt } from '../accounts/password.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { queueTokenMail } from '../email/mails.ts';
import { VERIFY_TOKEN_TTL_SECONDS, newEmailToken } from '../email/tokens.ts';
import { readUserExport } from '../privacy/export-repo.ts';
import { findTenant } from '../tenants/repo.ts';
import { adminActor } from './audit.ts';
import { requireScope, type AdminEnv } from './auth.ts';
import { pageQuerySchema, pageSchema, pathUUID, readQuery } from './pagination.ts';
import { pathSlug } from './tenants-routes.ts';
import { createUserByAdmin, eraseUserByAdmin } from './users-service.ts';
import {
  getUser,
  listUserSessionsBySlug,
  listUsers,
  revokeAllUserSessions,
  setUserDisabled,
  setUserPassword,
  updateUser,
  type AdminUser,
  type UserLookup,
} from './users-repo.ts';

// The end-user API's own bound: 128 characters after NFKC (checked by the tenant's policy).
const password = z.string().min(1).max(1024);
const email = z.email().max(254);

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  email_verified: z.boolean(),
  disabled: z.boolean(),
  disabled_at: z.iso.datetime().nullable(),
  has_password: z.boolean(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export const userResponseSchema = z.object({ user: userSchema });
export const userListQuerySchema = pageQuerySchema.extend({
  search: z.string().trim().max(200).optional(),
});
export const userListResponseSchema = pageSchema(userSchema);
export const createUserRequestSchema = z.strictObject({
  email,
  name: z.string().trim().min(1).max(200).nullable().default(null),
  /** Optional: an account without a password cannot sign in until one is set. */
  password: password.optional(),
  email_verified: z.boolean().default(false),
});
export const updateUserRequestSchema = z.strictObject({
  email: email.optional(),
  name: z.string().trim().min(1).max(200).nullable().optional(),
  email_verified: z.boolean().optional(),
});
export const setUserPasswordRequestSchema = z.strictObject({ password });
export const userErasedResponseSchema = z.object({
  status: z.literal('deleted'),
  audit_events_scrubbed: z.number().int(),
});
export const userExportResponseSchema = z.object({
  exported_at: z.iso.datetime(),
  profile: z.record(z.string(), z.unknown()),
  identities: z.array(z.record(z.string(), z.unknown())),
  sessions: z.array(z.record(z.string(), z.unknown())),
  passkeys: z.array(z.record(z.string(), z.unknown())),
  mfa: z.record(z.string(), z.unknown()),
  organizations: z.array(z.record(z.string(), z.unknown())),
  roles: z.array(z.record(z.string(), z.unknown())),
  groups: z.array(z.record(z.string(), z.unknown())),
  attributes: z.array(z.record(z.string(), z.unknown())),
  audit_events: z.array(z.record(z.string(), z.unknown())),
});
export const revokeUserSessionsResponseSchema = z.object({ revoked: z.number().int() });
export const userSessionSchema = z.object({
  id: z.uuid(),
  created_at: z.iso.datetime(),
  last_seen_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  idle_expires_at: z.iso.datetime(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
});
export const userSessionListResponseSchema = z.object({
  items: z.array(userSessionSchema),
  total: z.number().int(),
});

export function userView(user: AdminUser): z.infer<typeof userSchema> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.emailVerified,
    disabled: user.disabledAt !== null,
    disabled_at: user.disabledAt?.toISOString() ?? null,
    has_password: user.hasPassword,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

/** The user a statement found, or the 404 that fits: no tenant, or no such user in it. */
function found(result: UserLookup): AdminUser {
  if (result === null) throw new AppError('unknown_tenant', 'no such tenant');
  if (result.user === null) throw new AppError('not_found', 'no such user');
  return result.user;
}

const UNIQUE_VIOLATION = '23505';

async function emailTakenAs409<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (pgErrorCode(error) === UNIQUE_VIOLATION) {
      throw new AppError('email_taken', 'an account with this email exists', { cause: error });
    }
    throw error;
  }
}

function params(c: { req: { param(name: 'slug' | 'id'): string } }): { slug: string; id: string } {
  return { slug: pathSlug(c.req.param('slug')), id: pathUUID(c.req.param('id'), 'user') };
}

export const userRoutes = new Hono<AdminEnv>();

userRoutes.get('/tenants/:slug/users', requireScope('users:read'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const query = readQuery(c, userListQuerySchema);
  const listed = await listUsers(c.var.deps.db, slug, {
    search: query.search,
    limit: query.limit,
    offset: query.offset,
  });
  if (listed === null) throw new AppError('unknown_tenant', 'no such tenant');
  return c.json({
    items: listed.users.map(userView),
    total: listed.total,
    limit: query.limit,
    offset: query.offset,
  });
});

userRoutes.post('/tenants/:slug/users', requireScope('users:write'), async (c) => {
  const slug = pathSlug(c.req.param('slug'));
  const input = await readJSON(c, createUserRequestSchema);
  const user = await createUserByAdmin(c.var.deps, slug, input, adminActor(c));
  return c.json({ user: userView(user) }, 201);
});

userRoutes.get('/tenants/:slug/users/:id', requireScope('users:read'), async (c) => {
  const { slug, id } = params(c);
  return c.json({ user: userView(found(await getUser(c.var.deps.db, slug, id))) });
});

userRoutes.patch('/tenants/:slug/users/:id', requireScope('users:write'), async (c) => {
  const { slug, id } = params(c);
  const input = await readJSON(c, updateUserRequestSchema);
  const emailText = input.email?.trim();
  const { deps } = c.var;
  // Made either way (cheap); stored and mailed only when the address really changes.
  const verification = await newEmailToken(deps, 'verify_email', VERIFY_TOKEN_TTL_SECONDS);
  const result = await emailTakenAs409(
    updateUser(
      deps.db,
      slug,
      id,
      {
        ...(emailText === undefined
          ? {}
          : { email: { email: emailText, normalized: normalizeEmail(emailText) } }),
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.email_verified === undefined ? {} : { emailVerified: input.email_verified }),
      },
      adminActor(c),
      verification,
    ),
  );
  const user = found(result.lookup);
  if (result.verification !== null)
    queueTokenMail(deps, result.verification.tenant, user.email, verification);
  return c.json({ user: userView(user) });
});

userRoutes.post('/tenants/:slug/users/:id/disable', requireScope('users:write'), async (c) => {
  const { slug, id } = params(c);
  const user = found(await setUserDisabled(c.var.deps.db, slug, id, true, adminActor(c)));
  return c.json({ user: userView(user) });
});

userRoutes.post('/tenants/:slug/users/:id/enable', requireScope('users:write'), async (c) => {
  const { slug, id } = params(c);
  const user = found(await setUserDisabled(c.var.deps.db, slug, id, false, adminActor(c)));
  return c.json({ user: userView(user) });
});

/**
 * The same erasure as DELETE /v1/auth/me (src/features/privacy/erase-repo.ts), one round trip
 * after the admin check:
 * credentials, sessions, tokens and memberships go, the user's audit events lose their personal
 * fields, and the `admin.user.deleted` event names the operator but not the user.
 */
userRoutes.delete('/tenants/:slug/users/:id', requireScope('users:write'), async (c) => {
  const { slug, id } = params(c);
  const scrubbed = await eraseUserByAdmin(c.var.deps, slug, id, adminActor(c));
  return c.json({ status: 'deleted', audit_events_scrubbed: scrubbed });
});

/** Everything held about the user, as GET /v1/auth/me/export returns it: one round trip after the admin check. */
userRoutes.get('/tenants/:slug/users/:id/export', requireScope('users:read'), async (c) => {
  const { slug, id } = params(c);
  const { deps } = c.var;
  const data = await readUserExport(
    deps.db,
    sql`(select id from tenants where slug = ${slug})`,
    id,
  );
  if (data === null) {
    // Rare path (a 404): one more round trip tells an unknown tenant from an unknown user.
    const tenant = await findTenant(deps.db, { ref: { by: 'slug', slug }, tenant: null });
    throw tenant === null
      ? new AppError('unknown_tenant', 'no such tenant')
      : new AppError('not_found', 'no such user');
  }
  c.header('Cache-Control', 'no-store');
  return c.json({ exported_at: deps.clock.now().toISOString(), ...data });
});

/** Two round trips: the user and the tenant's policy, then the new hash with sessions revoked. */
userRoutes.put('/tenants/:slug/users/:id/password', requireScope('users:write'), async (c) => {
  const { slug, id } = params(c);
  const input = await readJSON(c, setUserPasswordRequestSchema);
  const { deps } = c.var;
  const by = adminActor(c);
  const tenant = await findTenant(deps.db, { ref: { by: 'slug', slug }, tenant: null });
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  const current = found(await getUser(deps.db, slug, id));
  checkPasswordPolicy(tenant.settings.passwordPolicy, input.password, current.email);
  const hash = await deps.passwords.hash(input.password, newSalt(deps.random));
  const user = found(await setUserPassword(deps.db, slug, id, hash, by));
  return c.json({ user: userView(user) });
});

userRoutes.get('/tenants/:slug/users/:id/sessions', requireScope('users:read'), async (c) => {
  const { slug, id } = params(c);
  const { deps } = c.var;
  const { lookup, sessions } = await listUserSessionsBySlug(deps.db, slug, id, deps.clock.now());
  found(lookup);
  return c.json({
    items: sessions.map((s) => ({
      id: s.id,
      created_at: s.createdAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      expires_at: s.expiresAt.toISOString(),
      idle_expires_at: s.idleExpiresAt.toISOString(),
      ip: s.ip,
      user_agent: s.userAgent,
    })),
    total: sessions.length,
  });
});

userRoutes.post(
  '/tenants/:slug/users/:id/sessions/revoke',
  requireScope('users:write'),
  async (c) => {
    const { slug, id } = params(c);
    const { lookup, revoked } = await revokeAllUserSessions(c.var.deps.db, slug, id, adminActor(c));
    found(lookup);
    return c.json({ revoked });
  },
);
