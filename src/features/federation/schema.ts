import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../accounts/schema.ts';
import { tenants } from '../tenants/schema.ts';

export const PROVIDER_KINDS = ['google', 'github', 'oidc'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * A tenant's upstream identity providers (issue 14). `name` is the `{provider}` path segment of
 * /v1/auth/oauth/{provider}/…: `google` and `github` for those kinds, any slug for generic OIDC.
 */
export const federationProviders = pgTable(
  'federation_providers',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').$type<ProviderKind>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Generic OIDC only: the issuer whose /.well-known/openid-configuration is read. */
    issuer: text('issuer'),
    clientId: text('client_id').notNull(),
    /** AES-256-GCM under SECRET_KEY (secrets/columns.ts), context `federation-secret:{id}`. */
    clientSecretSealed: text('client_secret_sealed').notNull(),
    scopes: text('scopes').array().notNull(),
    /** The ID token / userinfo claim that holds the address (OIDC; `email` by default). */
    emailClaim: text('email_claim').notNull().default('email'),
    /** Whether the provider's `email_verified` is believed; false: its addresses never link. */
    trustEmailVerified: boolean('trust_email_verified').notNull().default(true),
    /** Lower-case domains; empty: any. A sign-in with an address elsewhere is refused. */
    allowedDomains: text('allowed_domains').array().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [uniqueIndex('federation_providers_tenant_name_key').on(table.tenantId, table.name)],
);

/** (provider, subject) → the one user it belongs to. */
export const federatedIdentities = pgTable(
  'federated_identities',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    providerId: uuid('provider_id')
      .notNull()
      .references(() => federationProviders.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    /** The address the provider gave when the identity was linked (display only). */
    email: text('email'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('federated_identities_provider_subject_key').on(table.providerId, table.subject),
    index('federated_identities_user_idx').on(table.userId),
  ],
);

/**
 * A started sign-in or link: single use (DELETE … RETURNING at the callback), ten minutes. Only
 * hashes of the `state` and of the browser-binding cookie are kept; the PKCE verifier is sealed.
 */
export const federationStates = pgTable(
  'federation_states',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    providerId: uuid('provider_id')
      .notNull()
      .references(() => federationProviders.id, { onDelete: 'cascade' }),
    stateHash: text('state_hash').notNull(),
    browserHash: text('browser_hash').notNull(),
    codeVerifierSealed: text('code_verifier_sealed').notNull(),
    nonce: text('nonce').notNull(),
    intent: text('intent').$type<'sign_in' | 'link'>().notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    redirectTo: text('redirect_to').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex('federation_states_state_key').on(table.stateHash),
    index('federation_states_expires_idx').on(table.expiresAt),
  ],
);
