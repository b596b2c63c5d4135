import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from '../tenants/schema.ts';

export type ClientType = 'confidential' | 'public';
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/**
 * A tenant's OAuth 2.0 / OpenID Connect clients (relying parties). `client_id` is the public
 * identifier; a confidential client's secret is kept only as its SHA-256 (the secret is 32 random
 * bytes, so a fast hash is enough: nothing to brute-force), shown once when created or rotated.
 */
export const oauthClients = pgTable(
  'oauth_clients',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull().unique(),
    name: text('name').notNull(),
    type: text('type').$type<ClientType>().notNull(),
    /** SHA-256 (base64url) of the secret; null for public clients. */
    secretHash: text('secret_hash'),
    /** Compared exactly, character for character (no normalisation, no prefix match). */
    redirectURIs: text('redirect_uris').array().notNull(),
    postLogoutRedirectURIs: text('post_logout_redirect_uris')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    grantTypes: text('grant_types').array().$type<GrantType[]>().notNull(),
    /** Scopes this client may ask for (openid, profile, email, offline_access, roles, …). */
    scopes: text('scopes').array().notNull(),
    /** First-party clients skip the consent screen. */
    firstParty: boolean('first_party').notNull().default(false),
    /** Per-client lifetimes; null falls back to the tenant's. */
    accessTokenTTLSeconds: integer('access_token_ttl_seconds'),
    idTokenTTLSeconds: integer('id_token_ttl_seconds'),
    refreshTokenTTLSeconds: integer('refresh_token_ttl_seconds'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
  },
  (table) => [index('oauth_clients_tenant_idx').on(table.tenantId)],
);
