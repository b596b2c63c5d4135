import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';
import { tenants } from '../tenants/schema.ts';

/**
 * Single-use tokens mailed to a user: `verify_email` (24 h) and `password_reset` (the tenant's
 * TTL, 30 min by default). Only SHA-256 of the token is kept; a newer token of the same purpose
 * replaces older ones (they are marked used when it is issued).
 */
export const emailTokens = pgTable(
  'email_tokens',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** The address the mail went to (normalised): a token for an address since changed is void. */
    email: text('email').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('email_tokens_user_purpose_idx').on(table.userId, table.purpose)],
);

/**
 * Email one-time sign-in codes: one live code per user (a new request replaces it). The code is
 * stored as an HMAC under a SECRET_KEY-derived key: six digits hashed without a key would fall to
 * a million guesses offline. Five wrong guesses kill it.
 */
export const emailOTPCodes = pgTable('email_otp_codes', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  tenantId: uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
