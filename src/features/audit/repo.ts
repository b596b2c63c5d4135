import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { parseJSON } from '../tenants/repo.ts';
import { timestamp } from '../sessions/repo.ts';
import { GLOBAL_CHAIN, type ChainedEvent } from './chain.ts';

export interface SealedEvent extends ChainedEvent {
  seq: number | null;
  prevMac: string | null;
  mac: string | null;
}

export interface ChainHead {
  headSeq: number;
  headMac: string;
  anchorSeq: number;
  anchorMac: string;
}

const inChain = (chainId: string): SQL =>
  sql`coalesce(tenant_id, ${GLOBAL_CHAIN}::uuid) = ${chainId}::uuid`;

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function readEvent(row: Record<string, unknown>): SealedEvent {
  return {
    id: String(row.id),
    tenantId: text(row.tenant_id),
    type: String(row.type),
    actorType: String(row.actor_type),
    actorId: text(row.actor_id),
    targetType: text(row.target_type),
    targetId: text(row.target_id),
    ip: text(row.ip),
    userAgent: text(row.user_agent),
    requestId: text(row.request_id),
    createdAt: timestamp(row.created_at),
    details: parseJSON(row.details) ?? {},
    personalSalt: text(row.personal_salt),
    personalCommitment: text(row.personal_commitment),
    linkVersion:
      row.link_version === null || row.link_version === undefined ? null : Number(row.link_version),
    seq: row.seq === null || row.seq === undefined ? null : Number(row.seq),
    prevMac: text(row.prev_mac),
    mac: text(row.mac),
  };
}

function readHead(row: Record<string, unknown> | undefined): ChainHead {
  return {
    headSeq: Number(row?.head_seq ?? 0),
    headMac: String(row?.head_mac ?? ''),
    anchorSeq: Number(row?.anchor_seq ?? 0),
    anchorMac: String(row?.anchor_mac ?? ''),
  };
}

/** Chains that have events waiting to be sealed. */
/** Chains with unsealed events, the one whose oldest waiting event is oldest first. */
export async function chainsWithUnsealed(db: Database, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const result = await db.execute(sql`
    select coalesce(tenant_id, ${GLOBAL_CHAIN}::uuid) as chain_id from audit_events where seq is null
    group by 1 order by min(created_at) limit ${limit}`);
  return result.rows.map((row) => String(row.chain_id));
}

/** The chain's head (created if missing) and its oldest unsealed events, in one round trip. */
export async function readUnsealed(
  db: Database,
  chainId: string,
  limit: number,
): Promise<{ head: ChainHead; events: SealedEvent[] }> {
  const [, head, events] = await db.batch([
    db.execute(
      sql`insert into audit_chains (chain_id, head_seq, head_mac) values (${chainId}::uuid, 0, '') on conflict do nothing`,
    ),
    db.execute(
      sql`select head_seq, head_mac, anchor_seq, anchor_mac from audit_chains where chain_id = ${chainId}::uuid`,
    ),
    db.execute(
      sql`select * from audit_events where ${inChain(chainId)} and seq is null order by created_at, id limit ${limit}`,
    ),
  ]);
  return { head: readHead(head.rows[0]), events: events.rows.map(readEvent) };
}

export interface Link {
  id: string;
  seq: number;
  prevMac: string;
  mac: string;
  personalSalt: string;
  personalCommitment: string;
}

/**
 * Writes the links and moves the head, atomically, only if the head is still where it was read:
 * otherwise the division by zero aborts the batch, so two sealers can never fork a chain.
 */
export async function writeLinks(
  db: Database,
  chainId: string,
  from: ChainHead,
  links: Link[],
): Promise<void> {
  const last = links[links.length - 1];
  if (last === undefined) return;
  const rows = sql.join(
    links.map(
      (link) =>
        sql`(${link.id}::uuid, ${link.seq}::bigint, ${link.prevMac}, ${link.mac}, ${link.personalSalt}, ${link.personalCommitment})`,
    ),
    sql`, `,
  );
  await db.batch([
    db.execute(sql`
      with moved as (
        update audit_chains set head_seq = ${last.seq}, head_mac = ${last.mac}, updated_at = now()
        where chain_id = ${chainId}::uuid and head_seq = ${from.headSeq}
        returning 1
      )
      select 1 / (select count(*)::int from moved) as head_was_current`),
    db.execute(sql`
      update audit_events e set seq = v.seq, prev_mac = v.prev_mac, mac = v.mac,
        personal_salt = v.personal_salt, personal_commitment = v.personal_commitment, link_version = 2
      from (values ${rows}) as v(id, seq, prev_mac, mac, personal_salt, personal_commitment)
      where e.id = v.id and e.seq is null`),
  ]);
}

export async function readChainHead(db: Database, chainId: string): Promise<ChainHead | null> {
  const result = await db.execute(
    sql`select head_seq, head_mac, anchor_seq, anchor_mac from audit_chains where chain_id = ${chainId}::uuid`,
  );
  return result.rows[0] === undefined ? null : readHead(result.rows[0]);
}

/** Sealed events after `afterSeq`, in chain order. */
export async function readSealedPage(
  db: Database,
  chainId: string,
  afterSeq: number,
  limit: number,
): Promise<SealedEvent[]> {
  const result = await db.execute(sql`
    select * from audit_events where ${inChain(chainId)} and seq is not null and seq > ${afterSeq}
    order by seq limit ${limit}`);
  return result.rows.map(readEvent);
}

export async function countUnsealed(db: Database, chainId: string): Promise<number> {
  const result = await db.execute(
    sql`select count(*)::int as n from audit_events where ${inChain(chainId)} and seq is null`,
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Deletes, from the start of the chain, up to `limit` sealed events older than `cutoff`, and
 * moves the chain's anchor past them so verification starts from the first one kept.
 */
export async function pruneBefore(
  db: Database,
  chainId: string,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const result = await db.execute(sql`
    with keep_from as (
      select coalesce(min(seq), (select head_seq + 1 from audit_chains where chain_id = ${chainId}::uuid), 0) as seq
      from audit_events where ${inChain(chainId)} and seq is not null and created_at >= ${cutoff.toISOString()}::timestamptz
    ),
    doomed as (
      select id, seq, mac from audit_events
      where ${inChain(chainId)} and seq is not null and seq < (select seq from keep_from)
      order by seq limit ${limit}
    ),
    deleted as (delete from audit_events where id in (select id from doomed) returning seq, mac),
    anchored as (
      update audit_chains set anchor_seq = (select max(seq) from deleted),
        anchor_mac = (select mac from deleted order by seq desc limit 1), updated_at = now()
      where chain_id = ${chainId}::uuid and exists (select 1 from deleted)
    )
    select count(*)::int as n from deleted`);
  return Number(result.rows[0]?.n ?? 0);
}

export interface AuditQuery {
  tenantId: string;
  types: string[];
  userId: string | null;
  from: Date | null;
  to: Date | null;
  /** Opaque cursor: the (created_at, id) of the last event of the previous page. */
  after: { createdAt: Date; id: string } | null;
  limit: number;
}

/** Newest first, stable on (created_at, id). */
export async function listEvents(db: Database, query: AuditQuery): Promise<SealedEvent[]> {
  const filters: SQL[] = [sql`tenant_id = ${query.tenantId}::uuid`];
  if (query.types.length > 0)
    filters.push(
      sql`type in (${sql.join(
        query.types.map((t) => sql`${t}`),
        sql`, `,
      )})`,
    );
  if (query.userId !== null)
    filters.push(sql`(actor_id = ${query.userId} or target_id = ${query.userId})`);
  if (query.from !== null)
    filters.push(sql`created_at >= ${query.from.toISOString()}::timestamptz`);
  if (query.to !== null) filters.push(sql`created_at < ${query.to.toISOString()}::timestamptz`);
  if (query.after !== null) {
    filters.push(
      sql`(created_at, id) < (${query.after.createdAt.toISOString()}::timestamptz, ${query.after.id}::uuid)`,
    );
  }
  const result = await db.execute(sql`
    select * from audit_events where ${sql.join(filters, sql` and `)}
    order by created_at desc, id desc limit ${query.limit}`);
  return result.rows.map(readEvent);
}
