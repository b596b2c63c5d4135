import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';
import { oauthClients } from '../clients/schema.ts';
import { sessions } from '../sessions/schema.ts';
import { tenants } from '../tenants/schema.ts';

/**
 * Authorization codes (RFC 6749 §4.1): 32 random bytes, only their SHA-256 kept, 60 s, single
 * use (`used_at`). Everything the token endpoint needs to mint the tokens is fixed here at
 * /authorize time, so the exchange reads one row.
 */
export const oauthCodes = pgTable(
  'oauth_codes',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull().unique(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => oauthClients.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The browser (SSO) session the user authorized from: the ID token's `sid`. */
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    redirectURI: text('redirect_uri').notNull(),
    scopes: text('scopes').array().notNull(),
    nonce: text('nonce'),
    /** PKCE (RFC 7636): only S256 is accepted, so the method is not stored. */
    codeChallenge: text('code_challenge'),
    authTime: timestamp('auth_time', { withTimezone: true }).notNull(),
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    /**
     * The grant this code started is revoked (replayed code, RFC 7009 revocation, consent
     * withdrawn): its refresh tokens are revoked with it and its access tokens (which carry the
     * code's id as `gid`) introspect as inactive.
     */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    index('oauth_codes_client_idx').on(table.clientId),
    index('oauth_codes_user_client_idx').on(table.userId, table.clientId),
  ],
);

/** What a user agreed a third-party client may have; revocable by the user. */
export const oauthConsents = pgTable(
  'oauth_consents',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: uuid('client_id')
      .notNull()
      .references(() => oauthClients.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.clientId] })],
);
