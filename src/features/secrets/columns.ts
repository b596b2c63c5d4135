import { KEY_PURPOSE, type KeyPurpose } from '../../lib/keys.ts';

export type Row = Record<string, unknown>;

/**
 * A column holding something sealed under a key derived from SECRET_KEY: what the rotation cron
 * reseals and `secret-rotation-status` counts. Adding a sealed column is one entry here (the
 * test in test/worker/secrets checks that every column the backup codec opens is listed).
 */
export interface SealedColumn {
  table: string;
  column: string;
  /** The row's primary key column, and its SQL type (for the compare-and-swap update). */
  key: string;
  keyType: 'uuid' | 'text';
  purpose: KeyPurpose;
  /** Other columns the seal context is made of. */
  contextColumns: readonly string[];
  /** The AES-GCM additional data the envelope was sealed with (must match the sealing code). */
  context(row: Row): string;
  /** `envelope`: the whole value is a seal() envelope; `password-hash`: one inside a `p=e1` hash. */
  format: 'envelope' | 'password-hash';
}

const str = (value: unknown): string => String(value);

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    // src/features/mail/repo.ts smtpPasswordContext
    table: 'tenants',
    column: 'smtp_password_sealed',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.secretEncryption,
    contextColumns: [],
    context: (row) => `smtp-password:${str(row.id)}`,
    format: 'envelope',
  },
  {
    // src/features/tokens/keys.ts sealContext
    table: 'signing_keys',
    column: 'private_key',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.signingKeyEncryption,
    contextColumns: ['tenant_id', 'kid'],
    context: (row) => `signing-key:${str(row.tenant_id)}:${str(row.kid)}`,
    format: 'envelope',
  },
  {
    // src/features/mfa/service.ts secretContext
    table: 'mfa_totp',
    column: 'secret_sealed',
    key: 'user_id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.secretEncryption,
    contextColumns: ['tenant_id'],
    context: (row) => `mfa-totp:${str(row.tenant_id)}:${str(row.user_id)}`,
    format: 'envelope',
  },
  {
    // src/features/federation/secret.ts providerSecretContext
    table: 'federation_providers',
    column: 'client_secret_sealed',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.secretEncryption,
    contextColumns: [],
    context: (row) => `federation-secret:${str(row.id)}`,
    format: 'envelope',
  },
  {
    // src/features/federation/secret.ts verifierContext (ten-minute rows)
    table: 'federation_states',
    column: 'code_verifier_sealed',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.secretEncryption,
    contextColumns: [],
    context: (row) => `federation-pkce:${str(row.id)}`,
    format: 'envelope',
  },
  {
    table: 'users',
    column: 'password_hash',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.passwordHashEncryption,
    contextColumns: [],
    context: () => 'password-hash:v1',
    format: 'password-hash',
  },
  {
    table: 'operators',
    column: 'password_hash',
    key: 'id',
    keyType: 'uuid',
    purpose: KEY_PURPOSE.passwordHashEncryption,
    contextColumns: [],
    context: () => 'password-hash:v1',
    format: 'password-hash',
  },
  {
    // src/features/secrets/service.ts retiredKeyContext
    table: 'retired_keys',
    column: 'sealed',
    key: 'id',
    keyType: 'text',
    purpose: KEY_PURPOSE.secretEncryption,
    contextColumns: [],
    context: (row) => `retired-key:${str(row.id)}`,
    format: 'envelope',
  },
];
