import { sql } from 'drizzle-orm';
import { jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { TenantSettings } from './settings.ts';

export const tenants = pgTable('tenants', {
  id: uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`),
  /** Permanent: issuer URLs, cookie names and archives refer to it. */
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  settings: jsonb('settings').$type<Partial<TenantSettings>>().notNull().default({}),
  /** Exact origins allowed to call with credentials; a column so SQL can check it in place. */
  corsOrigins: text('cors_origins')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  /** The tenant's SMTP password (settings.mail), sealed: AES-256-GCM under SECRET_KEY (mail/repo.ts). */
  smtpPasswordSealed: text('smtp_password_sealed'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const tenantHostnames = pgTable('tenant_hostnames', {
  hostname: text('hostname').primaryKey(),
  tenantId: uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
