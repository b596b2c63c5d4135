// Admin writes on users that the JSON API and the console share: one implementation of each rule.
import { sql } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { checkPasswordPolicy, newSalt } from '../accounts/password.ts';
import { normalizeEmail } from '../accounts/service.ts';
import { dropAvatar } from '../avatars/storage.ts';
import { eraseUser } from '../privacy/erase-repo.ts';
import { findTenant } from '../tenants/repo.ts';
import type { AdminActor } from './audit.ts';
import { insertUser, type AdminUser } from './users-repo.ts';

export interface NewUserByAdmin {
  email: string;
  name: string | null;
  /** Optional: an account without a password cannot sign in until one is set. */
  password?: string | undefined;
  email_verified: boolean;
}

/**
 * Creates a user in the tenant `slug`: the tenant's password policy applies to a given password,
 * an address already in use is 409 email_taken. Two round trips (tenant, insert with its event).
 */
export async function createUserByAdmin(
  deps: Deps,
  slug: string,
  input: NewUserByAdmin,
  by: AdminActor,
): Promise<AdminUser> {
  const tenant = await findTenant(deps.db, { ref: { by: 'slug', slug }, tenant: null });
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  const emailText = input.email.trim();
  let passwordHash: string | null = null;
  if (input.password !== undefined) {
    checkPasswordPolicy(tenant.settings.passwordPolicy, input.password, emailText);
    passwordHash = await deps.passwords.hash(input.password, newSalt(deps.random));
  }
  const user = await insertUser(
    deps.db,
    {
      id: crypto.randomUUID(),
      tenantId: tenant.id,
      email: emailText,
      emailNormalized: normalizeEmail(emailText),
      name: input.name,
      passwordHash,
      emailVerified: input.email_verified,
    },
    by,
  );
  if (user === null) throw new AppError('email_taken', 'an account with this email exists');
  return user;
}

/**
 * Erases a user of the tenant `slug`, the same erasure as DELETE /v1/auth/me
 * (src/features/privacy/erase-repo.ts), in one round trip: credentials, sessions, tokens and
 * memberships go, the user's audit events lose their personal fields, and the
 * `admin.user.deleted` event names the operator but not the user. Then the avatar leaves R2.
 * Returns how many audit events were scrubbed.
 */
export async function eraseUserByAdmin(
  deps: Deps,
  slug: string,
  id: string,
  by: AdminActor,
): Promise<number> {
  const erasure = await eraseUser(deps.db, {
    tenant: sql`(select id from tenants where slug = ${slug})`,
    userId: id,
    event: { type: 'admin.user.deleted', actor: by.actor, at: deps.clock.now() },
  });
  if (!erasure.tenantFound) throw new AppError('unknown_tenant', 'no such tenant');
  if (!erasure.erased) throw new AppError('not_found', 'no such user');
  await dropAvatar(deps, erasure.avatarKey, erasure.avatarStillUsed);
  return erasure.scrubbedEvents;
}
