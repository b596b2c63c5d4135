import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { adminEvent, type AdminActor } from '../admin/audit.ts';
import { insertAPIKey, loadAPIKey, revokeAPIKey, type APIKeyRecord } from './repo.ts';
import type { Scope } from './scopes.ts';

/** Recognisable in logs, configs and secret scanners; the rest is 32 random bytes. */
export const API_KEY_PREFIX = 'ghk_';
const API_KEY_SECRET_BYTES = 32;
const API_KEY = /^ghk_[A-Za-z0-9_-]{43}$/;
/** How much of a key is kept in clear to tell keys apart: the prefix and 8 characters (48 bits). */
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 8;

export function isAPIKeyShaped(value: string): boolean {
  return API_KEY.test(value);
}

/** A usable key (not revoked, not expired), or 401 invalid_token. One round trip. */
export async function authenticateAPIKey(deps: Deps, key: string): Promise<APIKeyRecord> {
  if (!isAPIKeyShaped(key)) throw new AppError('invalid_token', 'not an API key');
  const now = deps.clock.now();
  const record = await loadAPIKey(deps.db, await hashToken(key), now);
  if (record === null || record.revokedAt !== null) {
    throw new AppError('invalid_token', 'unknown or revoked API key');
  }
  if (record.expiresAt !== null && record.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('invalid_token', 'the API key has expired');
  }
  return record;
}

export interface CreateAPIKeyInput {
  name: string;
  scopes: Scope[];
  tenant: string | null;
  expiresAt: Date | null;
}

/** Creates a key; the key itself is returned this once and only its SHA-256 is stored. */
export async function createAPIKey(
  deps: Deps,
  operatorId: string,
  input: CreateAPIKeyInput,
  by: AdminActor,
): Promise<{ key: string; record: APIKeyRecord }> {
  const now = by.at;
  if (input.expiresAt !== null && input.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('invalid_request', 'expires_at must be in the future');
  }
  const key = `${API_KEY_PREFIX}${encodeBase64url(deps.random.bytes(API_KEY_SECRET_BYTES))}`;
  const record = await insertAPIKey(
    deps.db,
    {
      id: crypto.randomUUID(),
      name: input.name,
      keyHash: await hashToken(key),
      keyPrefix: key.slice(0, DISPLAY_LENGTH),
      scopes: [...new Set(input.scopes)],
      tenantSlug: input.tenant,
      createdBy: operatorId,
      now,
      expiresAt: input.expiresAt,
    },
    adminEvent(
      by,
      'admin.api_key.created',
      null,
      { type: 'api_key', id: null },
      {
        scopes: input.scopes,
        tenant: input.tenant,
        expires_at: input.expiresAt?.toISOString() ?? null,
      },
    ),
  );
  if (record === null) throw new AppError('unknown_tenant', 'no such tenant');
  return { key, record };
}

/** Revokes a key (idempotent: a revoked key keeps its first revocation time), audited. */
export async function revokeAPIKeyByAdmin(
  deps: Deps,
  id: string,
  by: AdminActor,
): Promise<APIKeyRecord> {
  const event = adminEvent(by, 'admin.api_key.revoked', null, { type: 'api_key', id: null });
  const record = await revokeAPIKey(deps.db, id, by.at, event);
  if (record === null) throw new AppError('not_found', 'no such API key');
  return record;
}
