import type { Database } from '../../db/client.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  deriveKeyBytes,
  importHMACKey,
  openWithRootKeys,
  seal,
  secretKeyId,
  type KeyPurpose,
  type RootKeys,
} from '../../lib/keys.ts';
import { resealPasswordHash } from '../accounts/password.ts';
import { SEALED_COLUMNS, type SealedColumn, type Row } from './columns.ts';
import {
  countPending,
  insertRetiredKey,
  readPending,
  readRetiredKeys,
  swapSealed,
  type PendingCount,
  type Reseal,
} from './repo.ts';

export interface RotationDeps {
  db: Database;
  secretKeys: RootKeys;
}

/** Rows resealed per batch: one read and one compare-and-swap update each. */
export const RESEAL_BATCH = 250;

/**
 * Derived keys of a retired root secret that are kept (sealed under the current one), because
 * what they protect cannot be redone under a new key: the audit chain's links are MACs over
 * history, and rewriting history to re-MAC it would make the chain prove nothing.
 */
const RETIRED_PURPOSES: readonly KeyPurpose[] = [KEY_PURPOSE.auditChain];

function retiredKeyContext(id: string): string {
  return `retired-key:${id}`;
}

async function retiredKeyIds(previous: Uint8Array): Promise<string[]> {
  const keyId = await secretKeyId(previous);
  return RETIRED_PURPOSES.map((purpose) => `${keyId}/${purpose}`);
}

export interface RotationStatus {
  /** Per sealed column: rows not yet under SECRET_KEY, and legacy `k1` password hashes. */
  columns: PendingCount[];
  /** Whether the previous key's audit MAC key is stored; null without SECRET_KEY_PREVIOUS. */
  isAuditKeyRetired: boolean | null;
  /** What must reach zero before SECRET_KEY_PREVIOUS is removed. */
  remaining: number;
}

/** What a rotation has left to do: one round trip. */
export async function rotationStatus(
  deps: RotationDeps,
  columns: readonly SealedColumn[] = SEALED_COLUMNS,
): Promise<RotationStatus> {
  const { current, previous } = deps.secretKeys;
  const retiredId = previous === null ? null : (await retiredKeyIds(previous))[0]!;
  const { counts, isRetired } = await countPending(
    deps.db,
    columns,
    await secretKeyId(current),
    retiredId,
  );
  const isAuditKeyRetired = previous === null ? null : isRetired;
  const remaining =
    counts.reduce((sum, count) => sum + count.pending, 0) + (isAuditKeyRetired === false ? 1 : 0);
  return { columns: counts, isAuditKeyRetired, remaining };
}

/** The stored value of `row` opened under whichever root secret sealed it, sealed under the current one. */
async function resealValue(keys: RootKeys, spec: SealedColumn, row: Row): Promise<string> {
  const value = String(row[spec.column]);
  if (spec.format === 'password-hash') return resealPasswordHash(keys, value);
  const context = spec.context(row);
  const plaintext = await openWithRootKeys(keys, spec.purpose, value, context);
  return seal(await deriveAESKey(keys.current, spec.purpose), plaintext, context);
}

export interface ResealResult {
  resealed: number;
  /** Rows neither key opens (damaged, or sealed under a third key): left as they are, and counted. */
  unopenable: number;
  roundTrips: number;
}

/**
 * One cron tick of a rotation: stores the previous key's audit MAC key, then reseals what the
 * previous key sealed, RESEAL_BATCH rows per read and write, within `maxRoundTrips` (each is a
 * subrequest on Neon's HTTP driver). Idempotent and safe with concurrent ticks: every write is a
 * compare-and-swap on the value read. Does nothing without SECRET_KEY_PREVIOUS.
 */
export async function resealTick(
  deps: RotationDeps,
  options: { maxRoundTrips: number; batchSize?: number; columns?: readonly SealedColumn[] },
): Promise<ResealResult> {
  const result: ResealResult = { resealed: 0, unopenable: 0, roundTrips: 0 };
  const { current, previous } = deps.secretKeys;
  if (previous === null || options.maxRoundTrips < 1) return result;
  const batchSize = options.batchSize ?? RESEAL_BATCH;
  const columns = options.columns ?? SEALED_COLUMNS;
  const status = await rotationStatus(deps, columns);
  result.roundTrips += 1;
  if (status.isAuditKeyRetired === false && result.roundTrips < options.maxRoundTrips) {
    await retirePreviousKeys(deps);
    result.roundTrips += 1;
  }
  const keyId = await secretKeyId(current);
  for (const [index, spec] of columns.entries()) {
    if ((status.columns[index]?.pending ?? 0) === 0) continue;
    // Within a tick, rows that failed to open are stepped over rather than read again.
    let after: string | null = null;
    for (;;) {
      if (options.maxRoundTrips - result.roundTrips < 2) return result;
      const rows = await readPending(deps.db, spec, keyId, after, batchSize);
      result.roundTrips += 1;
      const reseals: Reseal[] = [];
      for (const row of rows) {
        try {
          const to = await resealValue(deps.secretKeys, spec, row);
          reseals.push({ key: String(row[spec.key]), from: String(row[spec.column]), to });
        } catch {
          result.unopenable += 1;
        }
        after = String(row[spec.key]);
      }
      if (reseals.length > 0) {
        result.resealed += await swapSealed(deps.db, spec, reseals);
        result.roundTrips += 1;
      }
      if (rows.length < batchSize) break;
    }
  }
  return result;
}

/** Stores the previous root secret's kept keys, sealed under the current one: one round trip. */
export async function retirePreviousKeys(deps: RotationDeps): Promise<void> {
  const { current, previous } = deps.secretKeys;
  if (previous === null) return;
  const keyId = await secretKeyId(previous);
  const wrap = await deriveAESKey(current, KEY_PURPOSE.secretEncryption);
  // One purpose today; RETIRED_PURPOSES has room for more (each its own round trip).
  for (const purpose of RETIRED_PURPOSES) {
    const id = `${keyId}/${purpose}`;
    const bytes = await deriveKeyBytes(previous, purpose);
    const sealed = await seal(wrap, bytes, retiredKeyContext(id));
    await insertRetiredKey(deps.db, { id, keyId, purpose, sealed });
  }
}

/** HMAC keys of retired root secrets for `purpose` (the audit chain's): one round trip. */
export async function loadRetiredHMACKeys(
  deps: RotationDeps,
  purpose: KeyPurpose,
): Promise<CryptoKey[]> {
  const keys: CryptoKey[] = [];
  for (const retired of await readRetiredKeys(deps.db, purpose)) {
    const context = retiredKeyContext(retired.id);
    const bytes = await openWithRootKeys(
      deps.secretKeys,
      KEY_PURPOSE.secretEncryption,
      retired.sealed,
      context,
    );
    keys.push(await importHMACKey(bytes));
  }
  return keys;
}
