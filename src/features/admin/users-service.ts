// Admin writes on users that the JSON API and the console share: one implementation of each rule.
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { checkPasswordPolicy, newSalt } from '../accounts/password.ts';
import { normalizeEmail } from '../accounts/service.ts';
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
