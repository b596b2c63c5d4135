import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from '../accounts/schema.ts';
import { tenants } from '../tenants/schema.ts';

export const sessions = pgTable(
  'sessions',
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
    /** SHA-256 of the cookie's token (base64url); the token itself is never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    activeOrganizationId: uuid('active_organization_id').references(() => organizations.id, {
      onDelete: 'set null',
    }),
    ip: text('ip'),
    userAgent: text('user_agent'),
    /** The tenant's idle lifetime when the session began: each use extends it by this much. */
    idleTTLSeconds: integer('idle_ttl_seconds').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /**
     * How the user proved who they are for this session (RFC 8176 values: `pwd`, `otp`, `hwk`,
     * `mfa`, …): the ID token's `amr`. Empty for sessions begun before it was recorded.
     */
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
  },
  (table) => [index('sessions_user_idx').on(table.userId)],
);
