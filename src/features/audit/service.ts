import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { KEY_PURPOSE, deriveHMACKey } from '../../lib/keys.ts';
import { resolveSettings, tenantSettingsSchema } from '../tenants/settings.ts';
import { parseJSON } from '../tenants/repo.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { GLOBAL_CHAIN, hasNoPersonalFields, linkMAC, personalCommitment } from './chain.ts';
import {
  chainsWithUnsealed,
  countUnsealed,
  pruneBefore,
  readChainHead,
  readSealedPage,
  readUnsealed,
  writeLinks,
  type Link,
  type SealedEvent,
} from './repo.ts';
import { loadRetiredHMACKeys } from '../secrets/service.ts';

export interface AuditDeps {
  db: Database;
  secretKey: Uint8Array;
  /** During a rotation: links sealed before it are MACed under this key's chain key. */
  secretKeyPrevious?: Uint8Array | null;
}

const SEAL_BATCH = 200;

function chainKey(secretKey: Uint8Array): Promise<CryptoKey> {
  return deriveHMACKey(secretKey, KEY_PURPOSE.auditChain);
}

type LinkCheck = (
  chainId: string,
  seq: number,
  prevMac: string,
  event: SealedEvent,
) => Promise<boolean>;

/**
 * Checks links against every chain key the deployment has had: SECRET_KEY's (new links), then
 * SECRET_KEY_PREVIOUS's, then those of older secrets kept in retired_keys (read only when a link
 * matches neither, so a chain sealed under one key costs no extra round trip). Links are never
 * re-MACed on rotation: rewriting the chain would make it prove nothing about the past.
 */
function linkChecker(deps: AuditDeps): LinkCheck {
  let keys: CryptoKey[] | null = null;
  let hasRetired = false;
  let last = 0;
  const matches = async (
    index: number,
    chainId: string,
    seq: number,
    prevMac: string,
    event: SealedEvent,
  ): Promise<boolean> => {
    if ((await linkMAC(keys![index]!, chainId, seq, prevMac, event)) !== event.mac) return false;
    last = index;
    return true;
  };
  return async (chainId, seq, prevMac, event) => {
    keys ??= [
      await chainKey(deps.secretKey),
      ...(deps.secretKeyPrevious ? [await chainKey(deps.secretKeyPrevious)] : []),
    ];
    // Consecutive links share a key: the one that matched last is tried first.
    if (await matches(last, chainId, seq, prevMac, event)) return true;
    for (let index = 0; index < keys.length; index++) {
      if (index !== last && (await matches(index, chainId, seq, prevMac, event))) return true;
    }
    if (hasRetired) return false;
    hasRetired = true;
    const from = keys.length;
    const secretKeys = { current: deps.secretKey, previous: deps.secretKeyPrevious ?? null };
    keys.push(...(await loadRetiredHMACKeys({ db: deps.db, secretKeys }, KEY_PURPOSE.auditChain)));
    for (let index = from; index < keys.length; index++) {
      if (await matches(index, chainId, seq, prevMac, event)) return true;
    }
    return false;
  };
}

/** Seals up to SEAL_BATCH waiting events of one chain; two round trips. Returns how many. */
export async function sealChain(deps: AuditDeps, chainId: string): Promise<number> {
  const { head, events } = await readUnsealed(deps.db, chainId, SEAL_BATCH);
  if (events.length === 0) return 0;
  const key = await chainKey(deps.secretKey);
  const links: Link[] = [];
  let prevMac = head.headMac;
  let seq = head.headSeq;
  for (const event of events) {
    seq += 1;
    // 16 random bytes: a commitment to an IP address must not be open to guessing.
    const salt = event.personalSalt ?? encodeBase64url(crypto.getRandomValues(new Uint8Array(16)));
    const commitment = await personalCommitment(event, salt);
    const link = { ...event, linkVersion: 2, personalCommitment: commitment };
    const mac = await linkMAC(key, chainId, seq, prevMac, link);
    links.push({
      id: event.id,
      seq,
      prevMac,
      mac,
      personalSalt: salt,
      personalCommitment: commitment,
    });
    prevMac = mac;
  }
  await writeLinks(deps.db, chainId, head, links);
  return links.length;
}

/**
 * What the scheduled worker runs: seals chains that have waiting events, the longest-waiting
 * first, within `maxRoundTrips` (a Worker invocation may make only so many subrequests; 1 to list
 * the chains, 2 per batch sealed). What is left waits for the next tick.
 */
export async function sealAllChains(
  deps: AuditDeps,
  options: { maxRoundTrips?: number } = {},
): Promise<number> {
  let left = (options.maxRoundTrips ?? 31) - 1;
  let sealed = 0;
  for (const chainId of await chainsWithUnsealed(deps.db, Math.max(0, Math.floor(left / 2)))) {
    let count: number;
    do {
      if (left < 2) return sealed;
      left -= 2;
      count = await sealChain(deps, chainId);
      sealed += count;
    } while (count === SEAL_BATCH);
  }
  return sealed;
}

export type VerifyResult =
  | { ok: true; checked: number; headSeq: number; unsealed: number }
  | {
      ok: false;
      checked: number;
      seq: number;
      eventId: string | null;
      problem: 'edited' | 'missing' | 'relinked' | 'truncated';
      message: string;
    };

/**
 * A v2 link's personal fields: all gone (erased, or never any) is intact; otherwise they must
 * match the commitment with their salt, so a partial edit is caught. v1 links have no commitment:
 * their MAC covers the fields. (An erasure racing the sealer can leave a salt behind: harmless.)
 */
async function personalIntact(event: SealedEvent): Promise<boolean> {
  if (event.linkVersion !== 2 || hasNoPersonalFields(event)) return true;
  if (event.personalSalt === null || event.personalSalt === undefined) return false;
  return (await personalCommitment(event, event.personalSalt)) === event.personalCommitment;
}

/** Recomputes the chain from its anchor; reports the first broken link. */
export async function verifyChain(deps: AuditDeps, chainId: string): Promise<VerifyResult> {
  const isIntact = linkChecker(deps);
  const head = (await readChainHead(deps.db, chainId)) ?? {
    headSeq: 0,
    headMac: '',
    anchorSeq: 0,
    anchorMac: '',
  };
  let expectedSeq = head.anchorSeq + 1;
  let prevMac = head.anchorMac;
  let checked = 0;
  for (;;) {
    const page = await readSealedPage(deps.db, chainId, expectedSeq - 1, 1000);
    for (const event of page) {
      const seq = event.seq!;
      if (seq !== expectedSeq) {
        return {
          ok: false,
          checked,
          seq: expectedSeq,
          eventId: null,
          problem: 'missing',
          message: `event ${expectedSeq} is missing (next present is ${seq})`,
        };
      }
      if (event.prevMac !== prevMac) {
        return {
          ok: false,
          checked,
          seq,
          eventId: event.id,
          problem: 'relinked',
          message: `event ${seq} does not follow event ${seq - 1}`,
        };
      }
      if (!(await isIntact(chainId, seq, prevMac, event)) || !(await personalIntact(event))) {
        return {
          ok: false,
          checked,
          seq,
          eventId: event.id,
          problem: 'edited',
          message: `event ${seq} was altered after it was sealed`,
        };
      }
      prevMac = event.mac!;
      expectedSeq += 1;
      checked += 1;
    }
    if (page.length < 1000) break;
  }
  if (expectedSeq - 1 !== head.headSeq) {
    return {
      ok: false,
      checked,
      seq: expectedSeq,
      eventId: null,
      problem: 'truncated',
      message: `events ${expectedSeq} to ${head.headSeq} are missing from the end of the chain`,
    };
  }
  return {
    ok: true,
    checked,
    headSeq: head.headSeq,
    unsealed: await countUnsealed(deps.db, chainId),
  };
}

const PRUNE_BATCH = 1000;
const DEFAULT_RETENTION_DAYS = tenantSettingsSchema.parse({}).auditRetentionDays;

/** Retention: per tenant, deletes sealed events older than its setting, PRUNE_BATCH at a time. */
export async function enforceRetention(
  deps: AuditDeps,
  now: Date,
  /** Round trips after the first (which lists the tenants): one per batch deleted. */
  options: { maxBatches?: number } = {},
): Promise<number> {
  // Only tenants that have something to delete, so the batch cap is spent on real work.
  const tenants = await deps.db.execute(sql`
    select t.id, t.settings from tenants t
    where exists (
      select 1 from audit_events e where e.tenant_id = t.id and e.seq is not null
        and e.created_at < ${now.toISOString()}::timestamptz
          - make_interval(days => coalesce((t.settings->>'auditRetentionDays')::int, ${DEFAULT_RETENTION_DAYS}))
    )
    order by t.id`);
  let deleted = 0;
  let batches = options.maxBatches ?? 50;
  for (const row of tenants.rows) {
    const days = resolveSettings(parseJSON(row.settings)).auditRetentionDays;
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    let count: number;
    do {
      if (batches-- <= 0) return deleted;
      count = await pruneBefore(deps.db, String(row.id), cutoff, PRUNE_BATCH);
      deleted += count;
    } while (count === PRUNE_BATCH);
  }
  return deleted;
}

export { GLOBAL_CHAIN };
