import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { oauthClients } from '../clients/schema.ts';
import { oauthCodes } from '../oidc/schema.ts';
import { sessions } from '../sessions/schema.ts';
import { tenants } from '../tenants/schema.ts';

export type SigningKeyStatus = 'active' | 'published' | 'retired';

export const signingKeys = pgTable(
  'signing_keys',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    kid: text('kid').notNull().unique(),
    alg: text('alg').notNull(),
    publicJWK: jsonb('public_jwk').$type<JWK>().notNull(),
    /** PKCS#8 private key sealed with AES-256-GCM under a key derived from SECRET_KEY. */
    privateKey: text('private_key').notNull(),
    status: text('status').$type<SigningKeyStatus>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (table) => [
    // At most one active key per tenant: rotation swaps it in one statement.
    uniqueIndex('signing_keys_one_active')
      .on(table.tenantId)
      .where(sql`status = 'active'`),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** The family: every token issued for one session. Reuse of a rotated one revokes them all. */
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    parentId: uuid('parent_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /**
     * Set for a token the OIDC token endpoint issued (null: the JSON API's own tokens). The
     * session stays the family, so sign-out ends the grant; the code names the grant, so a
     * replayed code revokes exactly what it issued; the client binds it (client A's token is
     * refused to client B, and each endpoint refuses the other's tokens).
     */
    clientId: uuid('client_id').references(() => oauthClients.id, { onDelete: 'cascade' }),
    codeId: uuid('code_id').references(() => oauthCodes.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array(),
  },
  (table) => [
    index('refresh_tokens_session_idx').on(table.sessionId),
    index('refresh_tokens_code_idx').on(table.codeId),
  ],
);
