// The registry of tenant data: every table an archive holds, how its rows are found, the order
// they go back in, and what needs more than a copy (sealed secrets, ids a copy remaps).
// test/worker/backup/export-import.test.ts fails when a table with a tenant_id column exists in
// the database but not here, so a new table cannot be left out of backups silently.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeBase64, encodeBase64url, encodeHex, utf8 } from '../../lib/encoding.ts';
import { sealPasswordHash, unsealPasswordHash } from '../accounts/password.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  open,
  rootKeys,
  seal,
  type KeyPurpose,
  type RootKeys,
} from '../../lib/keys.ts';
import type { JsonValue } from './records.ts';

export type Row = { [column: string]: JsonValue };

export interface TableSpec {
  /** The table's name in the database and in the archive. */
  name: string;
  /** Primary key: the exporter pages by it (keyset pagination). */
  key: readonly string[];
  /** The column holding the tenant's id. */
  tenantColumn: string;
  /** uuid columns naming rows of this tenant: remapped when an import makes a copy. */
  ids: readonly string[];
  /** Self-references: inserted as null, set once the whole table is in (parents first). */
  deferred?: readonly string[];
  /**
   * `skip`: left out of a copy (import under another slug). Credentials bound to the original
   * tenant (sessions, refresh tokens, API keys) and its hostnames are globally unique: a copy in
   * the same deployment would collide with them, and should not be reachable with them anyway.
   */
  copy: 'keep' | 'skip';
  /**
   * `ignore`: a row already present is kept. Audit rows outlive the tenant (no foreign key), so a
   * restore after deleting the tenant finds the sealed events it is bringing back.
   */
  onConflict?: 'ignore';
  /** SQL expressions replacing `r."column"` on insert (`r` is the archive's record). */
  insertSQL?: Readonly<Record<string, string>>;
}

/** Insert order: every table after the tables its foreign keys point to. */
export const TABLES: readonly TableSpec[] = [
  { name: 'tenants', key: ['id'], tenantColumn: 'id', ids: ['id'], copy: 'keep' },
  {
    name: 'tenant_hostnames',
    key: ['hostname'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id'],
    copy: 'skip',
  },
  {
    name: 'signing_keys',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
  },
  { name: 'users', key: ['id'], tenantColumn: 'tenant_id', ids: ['id', 'tenant_id'], copy: 'keep' },
  {
    name: 'organizations',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'memberships',
    key: ['organization_id', 'user_id'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'organization_id', 'user_id'],
    copy: 'keep',
  },
  {
    name: 'sessions',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id', 'active_organization_id'],
    copy: 'skip',
  },
  { name: 'roles', key: ['id'], tenantColumn: 'tenant_id', ids: ['id', 'tenant_id'], copy: 'keep' },
  {
    name: 'user_roles',
    key: ['user_id', 'role_id'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'user_id', 'role_id'],
    copy: 'keep',
  },
  {
    name: 'tenant_groups',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'parent_id'],
    deferred: ['parent_id'],
    copy: 'keep',
  },
  {
    name: 'group_members',
    key: ['group_id', 'user_id'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'group_id', 'user_id'],
    copy: 'keep',
  },
  {
    name: 'group_roles',
    key: ['group_id', 'role_id'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'group_id', 'role_id'],
    copy: 'keep',
  },
  {
    name: 'user_attributes',
    key: ['user_id', 'key'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'user_id'],
    copy: 'keep',
  },
  {
    name: 'claim_mappers',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'login_failures',
    key: ['user_id'],
    tenantColumn: 'tenant_id',
    ids: ['user_id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'mfa_totp',
    key: ['user_id'],
    tenantColumn: 'tenant_id',
    ids: ['user_id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'mfa_recovery_codes',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id'],
    copy: 'keep',
  },
  {
    name: 'mfa_tokens',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id'],
    copy: 'skip',
  },
  {
    name: 'mfa_lockouts',
    key: ['user_id'],
    tenantColumn: 'tenant_id',
    ids: ['user_id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'passkeys',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id'],
    copy: 'keep',
  },
  // Upstream identity providers (src/features/federation) and the identities linked through
  // them. The client secret travels opened inside the encrypted archive and is sealed again
  // under the target's key, bound to the (possibly remapped) provider id.
  {
    name: 'federation_providers',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'federated_identities',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id', 'provider_id'],
    copy: 'keep',
  },
  // OAuth clients and users' consents to them. A client's secret is stored as SHA-256 and travels
  // as that hash. A copy gets new client_ids (they are unique across the deployment) and no
  // secrets: a copy must not answer to the original's credentials, so rotate before use.
  {
    name: 'oauth_clients',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
  },
  {
    name: 'oauth_consents',
    key: ['user_id', 'client_id'],
    tenantColumn: 'tenant_id',
    ids: ['tenant_id', 'user_id', 'client_id'],
    copy: 'keep',
  },
  // An authorization code's row is also its grant (src/features/oidc): OIDC refresh tokens name
  // it, and its revocation state says whether their access tokens are still active. Its hash is
  // of a spent or expired code, so it travels as is; like sessions, a copy leaves grants behind.
  {
    name: 'oauth_codes',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'client_id', 'user_id', 'session_id'],
    copy: 'skip',
  },
  // After the sessions, clients and codes their foreign keys name.
  {
    name: 'refresh_tokens',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'session_id', 'parent_id', 'client_id', 'code_id'],
    copy: 'skip',
  },
  {
    name: 'webauthn_challenges',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id'],
    copy: 'skip',
  },
  // Mailed verify/reset tokens and sign-in codes: restored with their tenant, left out of a copy
  // (token hashes are globally unique, and a code's HMAC is bound to the original ids).
  {
    name: 'email_tokens',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id', 'user_id'],
    copy: 'skip',
  },
  {
    name: 'email_otp_codes',
    key: ['user_id'],
    tenantColumn: 'tenant_id',
    ids: ['user_id', 'tenant_id'],
    copy: 'skip',
  },
  {
    name: 'api_keys',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'skip',
    // Operators are deployment-wide, not tenant data: another deployment may not have this one.
    insertSQL: { created_by: '(select o.id from operators o where o.id = r.created_by)' },
  },
  {
    name: 'audit_events',
    key: ['id'],
    tenantColumn: 'tenant_id',
    ids: ['id', 'tenant_id'],
    copy: 'keep',
    onConflict: 'ignore',
  },
  {
    name: 'audit_chains',
    key: ['chain_id'],
    tenantColumn: 'chain_id',
    ids: ['chain_id'],
    // A copy's events get new ids, so their MACs cannot hold: the copy's chain is sealed afresh.
    copy: 'skip',
    onConflict: 'ignore',
  },
];

export const TABLES_BY_NAME: ReadonlyMap<string, TableSpec> = new Map(
  TABLES.map((table) => [table.name, table]),
);

/**
 * Tables with a tenant_id column that hold no tenant data of their own, with the reason. The
 * registry test accepts these; anything else must be in TABLES.
 */
export const NOT_TENANT_DATA: Readonly<Record<string, string>> = {
  federation_states:
    'pending federated sign-ins: single-use, ten minutes, bound to a browser cookie; a restored one could not be finished',
};

/**
 * How the archive and the database differ for a table's row: secrets sealed under SECRET_KEY
 * travel decrypted inside the (encrypted) archive, and are sealed again under the target's key.
 */
export interface SecretCodec {
  /** Database row → archive row (opens sealed columns). */
  exportRow(table: string, row: Row): Promise<Row>;
  /** Archive row (already remapped) → database row (seals under the target's SECRET_KEY). */
  importRow(table: string, row: Row): Promise<Row>;
}

/**
 * A column sealed under a key derived from SECRET_KEY: how the archive holds it opened, and how
 * the target seals it again under its own key. Null values stay null.
 */
interface SealedColumn {
  column: string;
  purpose: KeyPurpose;
  open(key: CryptoKey, value: string, row: Row): Promise<string>;
  seal(key: CryptoKey, value: string, row: Row): Promise<string>;
}

/** A whole `seal()` envelope bound to a context; opened, text as is and binary as base64url. */
function envelope(
  purpose: KeyPurpose,
  binary: boolean,
  context: (row: Row) => string,
): Omit<SealedColumn, 'column'> {
  return {
    purpose,
    async open(key, value, row) {
      const plaintext = await open(key, value, context(row));
      return binary ? encodeBase64url(plaintext) : utf8.decode(plaintext);
    },
    seal: (key, value, row) =>
      seal(key, binary ? decodeBase64(value) : utf8.encode(value), context(row)),
  };
}

export const SEALED: Readonly<Record<string, SealedColumn>> = {
  // The tenant's SMTP password (settings.mail), bound to the tenant's id (src/features/mail/repo.ts).
  tenants: {
    column: 'smtp_password_sealed',
    ...envelope(KEY_PURPOSE.secretEncryption, false, (row) => `smtp-password:${String(row.id)}`),
  },
  signing_keys: {
    column: 'private_key',
    ...envelope(
      KEY_PURPOSE.signingKeyEncryption,
      false,
      (row) => `signing-key:${String(row.tenant_id)}:${String(row.kid)}`,
    ),
  },
  mfa_totp: {
    column: 'secret_sealed',
    ...envelope(
      KEY_PURPOSE.secretEncryption,
      true,
      (row) => `mfa-totp:${String(row.tenant_id)}:${String(row.user_id)}`,
    ),
  },
  federation_providers: {
    column: 'client_secret_sealed',
    ...envelope(
      KEY_PURPOSE.secretEncryption,
      false,
      (row) => `federation-secret:${String(row.id)}`,
    ),
  },
  // Sealed inside its stored form (`p=e1`); the archive holds it as `p=none`.
  users: {
    column: 'password_hash',
    purpose: KEY_PURPOSE.passwordHashEncryption,
    open: (key, value) => unsealPasswordHash(key, value),
    seal: (key, value) => sealPasswordHash(key, value),
  },
};

/**
 * The codec for one deployment's SECRET_KEY. Seals under the current key; during a rotation,
 * opens what the previous key sealed too (export reads rows the cron has not resealed yet).
 */
export function createSecretCodec(secretKeys: Uint8Array | RootKeys): SecretCodec {
  const { current, previous } = rootKeys(secretKeys);
  const convert = async (table: string, row: Row, direction: 'open' | 'seal'): Promise<Row> => {
    const sealed = SEALED[table];
    const value = sealed === undefined ? null : row[sealed.column];
    if (sealed === undefined || value === null || value === undefined) return row;
    const text = String(value);
    let converted: string;
    try {
      converted = await sealed[direction](await deriveAESKey(current, sealed.purpose), text, row);
    } catch (error) {
      if (direction === 'seal' || previous === null) throw error;
      converted = await sealed.open(await deriveAESKey(previous, sealed.purpose), text, row);
    }
    return { ...row, [sealed.column]: converted };
  };
  return {
    exportRow: (table, row) => convert(table, row, 'open'),
    importRow: (table, row) => convert(table, row, 'seal'),
  };
}

/**
 * Deterministic new ids for a copy: HMAC-SHA-256 under a random per-import salt, so every
 * reference to one old id maps to the same new id without a lookup table in memory.
 */
export interface IdRemapper {
  uuid(old: string): string;
  kid(old: string): string;
  /** An OAuth client_id (22 characters of base64url, like a generated one). */
  clientId(old: string): string;
}

export function createIdRemapper(salt: Uint8Array): IdRemapper {
  const mac = (label: string, value: string): Uint8Array =>
    hmac(sha256, salt, utf8.encode(`${label}:${value.toLowerCase()}`));
  return {
    uuid(old) {
      const bytes = mac('uuid', old).slice(0, 16);
      bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
      bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
      const hex = encodeHex(bytes);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    // Kids are 12 random bytes, base64url, unique across the deployment.
    kid: (old) => encodeBase64url(mac('kid', old).slice(0, 12)),
    // Case-sensitive, unlike ids and kids above: not through `mac`, which folds case.
    clientId: (old) =>
      encodeBase64url(hmac(sha256, salt, utf8.encode(`client_id:${old}`)).slice(0, 16)),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Audit actors and targets that are deployment-wide: their ids are kept in a copy. */
const GLOBAL_ACTORS = new Set(['operator', 'system', 'anonymous', 'api_key']);

/** Rewrites one archive row for a copy: new ids, new kid, the chain left to be sealed again. */
export function remapRow(spec: TableSpec, row: Row, remap: IdRemapper): Row {
  const out: Row = { ...row };
  for (const column of spec.ids) {
    const value = out[column];
    if (typeof value === 'string') out[column] = remap.uuid(value);
  }
  if (spec.name === 'signing_keys') {
    const kid = remap.kid(String(row.kid));
    out.kid = kid;
    const jwk = row.public_jwk;
    if (jwk !== null && typeof jwk === 'object' && !Array.isArray(jwk))
      out.public_jwk = { ...jwk, kid };
  }
  if (spec.name === 'oauth_clients') {
    out.client_id = remap.clientId(String(row.client_id));
    out.secret_hash = null;
  }
  if (spec.name === 'audit_events') {
    for (const [idColumn, typeColumn] of [
      ['actor_id', 'actor_type'],
      ['target_id', 'target_type'],
    ] as const) {
      const value = row[idColumn];
      if (
        typeof value === 'string' &&
        UUID.test(value) &&
        !GLOBAL_ACTORS.has(String(row[typeColumn]))
      ) {
        out[idColumn] = remap.uuid(value);
      }
    }
    out.seq = null;
    out.prev_mac = null;
    out.mac = null;
    // The sealer recomputes the commitment (ids changed) and keeps the salt (docs/audit-chain.md).
    out.personal_commitment = null;
    out.link_version = null;
  }
  return out;
}
