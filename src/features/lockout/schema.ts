import { index, integer, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';
import { tenants } from '../tenants/schema.ts';

/**
 * Failed-login counters of an account, one row per account that has failed recently. A row of
 * its own (not users columns) so a failure is an upsert that concurrent failures serialise on.
 */
export const loginFailures = pgTable(
  'login_failures',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Failures since `windowStartedAt`; reset when the account locks or signs in. */
    failures: integer('failures').notNull().default(0),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
  },
  (table) => [index('login_failures_tenant_idx').on(table.tenantId)],
);
