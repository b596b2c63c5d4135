import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Keys derived from a root secret that was rotated away, kept because data MACed under them cannot
 * be re-MACed without rewriting history: the audit chain's MAC key (src/features/audit). Each is
 * sealed under the current SECRET_KEY like any other secret, and resealed at the next rotation.
 * `id` is `<key id of the retired secret>/<purpose>`.
 */
export const retiredKeys = pgTable('retired_keys', {
  id: text('id').primaryKey(),
  keyId: text('key_id').notNull(),
  purpose: text('purpose').notNull(),
  sealed: text('sealed').notNull(),
  retiredAt: timestamp('retired_at', { withTimezone: true }).notNull().defaultNow(),
});
