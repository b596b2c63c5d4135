import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * Security and admin events. Rows are written in the same statement as the action they record;
 * the HMAC chain (seq, prev_mac, mac) is added afterwards by the sealer, in commit order.
 * tenant_id is null for deployment-wide events (bootstrap, operators): a chain of their own.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id'),
    type: text('type').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    seq: bigint('seq', { mode: 'number' }),
    prevMac: text('prev_mac'),
    mac: text('mac'),
    /**
     * Link v2 (docs/audit-chain.md): personal fields (ip, user_agent, a user actor or target id,
     * details.email/user_id) are covered by personal_commitment = SHA-256(salt, fields), and the
     * MAC covers the commitment. Erasure nulls the fields and the salt; the chain still verifies.
     * link_version null: sealed under v1, whose MAC covers the personal fields directly.
     */
    personalSalt: text('personal_salt'),
    personalCommitment: text('personal_commitment'),
    linkVersion: smallint('link_version'),
  },
  (table) => [
    // A position in a chain is taken once: two sealers racing cannot both seal it.
    uniqueIndex('audit_events_chain_position').on(
      sql`coalesce(${table.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
      table.seq,
    ),
    index('audit_events_tenant_time').on(table.tenantId, table.createdAt),
    index('audit_events_unsealed')
      .on(table.tenantId)
      .where(sql`seq is null`),
  ],
);

/**
 * The head of each chain: deleting the newest events, or all of them, is detected against it.
 * Retention moves the anchor (the last pruned event's position and MAC) forward.
 */
export const auditChains = pgTable('audit_chains', {
  chainId: uuid('chain_id').primaryKey(),
  headSeq: bigint('head_seq', { mode: 'number' }).notNull(),
  headMac: text('head_mac').notNull(),
  anchorSeq: bigint('anchor_seq', { mode: 'number' }).notNull().default(0),
  anchorMac: text('anchor_mac').notNull().default(''),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
