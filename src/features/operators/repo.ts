import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, auditInsertEach, type AuditEvent } from '../audit/events.ts';
import { timestamp } from '../sessions/repo.ts';
import type { OperatorRole } from './schema.ts';

/** Operator sessions: short, because an operator session can do anything. */
export const OPERATOR_SESSION_IDLE_SECONDS = 3600;
export const OPERATOR_SESSION_ABSOLUTE_SECONDS = 12 * 3600;
/** Sessions are touched at most this often, as end users' are. */
const TOUCH_INTERVAL_SECONDS = 60;

export interface Operator {
  id: string;
  email: string;
  role: OperatorRole;
  createdAt: Date;
}

export interface OperatorWithHash extends Operator {
  passwordHash: string;
}

export interface OperatorSession {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** The operator as shown: everything but the password hash. */
export function withoutHash(operator: OperatorWithHash): Operator {
  return {
    id: operator.id,
    email: operator.email,
    role: operator.role,
    createdAt: operator.createdAt,
  };
}

export function readOperator(row: Record<string, unknown>): OperatorWithHash {
  return {
    id: String(row.o_id),
    email: String(row.o_email),
    role: String(row.o_role) as OperatorRole,
    createdAt: timestamp(row.o_created_at),
    passwordHash: String(row.o_password_hash),
  };
}

const OPERATOR_COLUMNS = sql.raw(
  'o.id as o_id, o.email as o_email, o.role as o_role, o.created_at as o_created_at, o.password_hash as o_password_hash',
);

function readSession(row: Record<string, unknown>): OperatorSession {
  return {
    id: String(row.s_id),
    createdAt: timestamp(row.s_created_at),
    lastSeenAt: timestamp(row.s_last_seen_at),
    idleExpiresAt: timestamp(row.s_idle_expires_at),
    expiresAt: timestamp(row.s_expires_at),
    ip: text(row.s_ip),
    userAgent: text(row.s_user_agent),
  };
}

/** The cookie check: live session and enabled operator in one round trip, touching when stale. */
export async function loadOperatorSession(
  db: Database,
  tokenHash: string,
  now: Date,
): Promise<{ operator: OperatorWithHash; session: OperatorSession } | null> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with found as (
      select ${OPERATOR_COLUMNS}, s.id as s_id, s.created_at as s_created_at, s.last_seen_at as s_last_seen_at,
        s.idle_expires_at as s_idle_expires_at, s.expires_at as s_expires_at, s.ip as s_ip, s.user_agent as s_user_agent
      from operator_sessions s
      join operators o on o.id = s.operator_id and o.disabled_at is null
      where s.token_hash = ${tokenHash} and s.revoked_at is null
        and s.expires_at > ${at}::timestamptz and s.idle_expires_at > ${at}::timestamptz
    ),
    touched as (
      update operator_sessions set last_seen_at = ${at}::timestamptz,
        idle_expires_at = least(${at}::timestamptz + make_interval(secs => ${OPERATOR_SESSION_IDLE_SECONDS}), expires_at)
      where id = (select s_id from found)
        and last_seen_at < ${at}::timestamptz - make_interval(secs => ${TOUCH_INTERVAL_SECONDS})
    )
    select * from found`);
  const row = result.rows[0];
  if (row === undefined) return null;
  return { operator: readOperator(row), session: readSession(row) };
}

export async function findOperatorByEmail(
  db: Database,
  emailNormalized: string,
): Promise<OperatorWithHash | null> {
  const result = await db.execute(sql`
    select ${OPERATOR_COLUMNS} from operators o
    where o.email_normalized = ${emailNormalized} and o.disabled_at is null`);
  const row = result.rows[0];
  return row === undefined ? null : readOperator(row);
}

export interface NewOperatorSession {
  id: string;
  operatorId: string;
  tokenHash: string;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  idleExpiresAt: Date;
  expiresAt: Date;
}

export async function insertOperatorSession(
  db: Database,
  session: NewOperatorSession,
  event: AuditEvent,
): Promise<void> {
  const at = session.now.toISOString();
  await db.execute(sql`
    with audit as (${auditInsert(event)})
    insert into operator_sessions (id, operator_id, token_hash, ip, user_agent, created_at, last_seen_at, idle_expires_at, expires_at)
    values (${session.id}::uuid, ${session.operatorId}::uuid, ${session.tokenHash}, ${session.ip}, ${session.userAgent},
      ${at}::timestamptz, ${at}::timestamptz, ${session.idleExpiresAt.toISOString()}::timestamptz,
      ${session.expiresAt.toISOString()}::timestamptz)`);
}

export async function listOperatorSessions(
  db: Database,
  operatorId: string,
  now: Date,
): Promise<OperatorSession[]> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    select s.id as s_id, s.created_at as s_created_at, s.last_seen_at as s_last_seen_at,
      s.idle_expires_at as s_idle_expires_at, s.expires_at as s_expires_at, s.ip as s_ip, s.user_agent as s_user_agent
    from operator_sessions s
    where s.operator_id = ${operatorId}::uuid and s.revoked_at is null
      and s.expires_at > ${at}::timestamptz and s.idle_expires_at > ${at}::timestamptz
    order by s.created_at desc, s.id`);
  return result.rows.map(readSession);
}

/** Revokes the operator's sessions matching `which`; returns how many. */
export async function revokeOperatorSessions(
  db: Database,
  operatorId: string,
  which: { only: string } | { except: string } | 'all',
  now: Date,
  event: AuditEvent,
): Promise<number> {
  const filter =
    which === 'all'
      ? sql`true`
      : 'only' in which
        ? sql`id = ${which.only}::uuid`
        : sql`id <> ${which.except}::uuid`;
  const result = await db.execute(sql`
    with revoked as (
      update operator_sessions set revoked_at = ${now.toISOString()}::timestamptz
      where operator_id = ${operatorId}::uuid and revoked_at is null and ${filter}
      returning id
    ),
    audit as (${auditInsertEach(event, sql`revoked`, { targetId: sql`revoked.id` })})
    select count(*)::int as n from revoked`);
  return Number(result.rows[0]?.n ?? 0);
}

/** New password; every session but `keepSessionId` revoked. One round trip. */
export async function replaceOperatorPassword(
  db: Database,
  operatorId: string,
  passwordHash: string,
  keepSessionId: string,
  now: Date,
  event: AuditEvent,
): Promise<void> {
  const at = now.toISOString();
  await db.execute(sql`
    with updated as (
      update operators set password_hash = ${passwordHash}, updated_at = ${at}::timestamptz
      where id = ${operatorId}::uuid
      returning id
    ),
    audit as (${auditInsertEach(event, sql`updated`, { targetId: sql`updated.id` })})
    update operator_sessions set revoked_at = ${at}::timestamptz
    where operator_id in (select id from updated) and id <> ${keepSessionId}::uuid and revoked_at is null`);
}

function hashArray(hashes: string[]) {
  return sql`array[${sql.join(
    hashes.map((hash) => sql`${hash}`),
    sql`, `,
  )}]::text[]`;
}

/** Replaces every recovery code of the operator with new ones. One round trip. */
export async function replaceRecoveryCodes(
  db: Database,
  operatorId: string,
  hashes: string[],
  now: Date,
  event: AuditEvent,
): Promise<void> {
  const at = now.toISOString();
  await db.execute(sql`
    with cleared as (
      delete from operator_recovery_codes where operator_id = ${operatorId}::uuid
    ),
    audit as (${auditInsert(event)})
    insert into operator_recovery_codes (operator_id, code_hash, created_at)
    select ${operatorId}::uuid, h, ${at}::timestamptz from unnest(${hashArray(hashes)}) as h
    on conflict (operator_id, code_hash) do nothing`);
}

/**
 * Password reset with a recovery code, in one statement: the code is marked used (its row lock
 * makes it single-use under concurrency), every other remaining code is invalidated, the password
 * replaced and every session revoked. False when email or code do not match.
 */
export async function recoverWithCode(
  db: Database,
  emailNormalized: string,
  codeHash: string,
  passwordHash: string,
  now: Date,
  event: AuditEvent,
): Promise<boolean> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with o as (
      select id from operators where email_normalized = ${emailNormalized} and disabled_at is null
    ),
    used as (
      update operator_recovery_codes set used_at = ${at}::timestamptz
      where operator_id = (select id from o) and code_hash = ${codeHash} and used_at is null
      returning operator_id
    ),
    rest as (
      update operator_recovery_codes set used_at = ${at}::timestamptz
      where operator_id in (select operator_id from used) and code_hash <> ${codeHash} and used_at is null
    ),
    password as (
      update operators set password_hash = ${passwordHash}, updated_at = ${at}::timestamptz
      where id in (select operator_id from used)
    ),
    sessions as (
      update operator_sessions set revoked_at = ${at}::timestamptz
      where operator_id in (select operator_id from used) and revoked_at is null
    ),
    audit as (
      ${auditInsertEach(event, sql`used`, { targetId: sql`used.operator_id`, actorId: sql`used.operator_id` })}
    )
    select count(*)::int as n from used`);
  return Number(result.rows[0]?.n ?? 0) > 0;
}

export interface NewOperator {
  id: string;
  email: string;
  emailNormalized: string;
  passwordHash: string;
  role: OperatorRole;
  recoveryCodeHashes: string[];
  now: Date;
}

/** An operator and their recovery codes; null when the email is taken. One round trip. */
export async function insertOperator(
  db: Database,
  operator: NewOperator,
  event: AuditEvent,
): Promise<Operator | null> {
  const at = operator.now.toISOString();
  const result = await db.execute(sql`
    with o as (
      insert into operators (id, email, email_normalized, password_hash, role, created_at, updated_at)
      values (${operator.id}::uuid, ${operator.email}, ${operator.emailNormalized}, ${operator.passwordHash},
        ${operator.role}, ${at}::timestamptz, ${at}::timestamptz)
      on conflict (email_normalized) do nothing
      returning id
    ),
    r as (
      insert into operator_recovery_codes (operator_id, code_hash, created_at)
      select o.id, h, ${at}::timestamptz from o, unnest(${hashArray(operator.recoveryCodeHashes)}) as h
    ),
    audit as (${auditInsertEach(event, sql`o`, { targetId: sql`o.id` })})
    select id from o`);
  if (result.rows[0] === undefined) return null;
  return { id: operator.id, email: operator.email, role: operator.role, createdAt: operator.now };
}

export async function listOperators(db: Database): Promise<Operator[]> {
  const result = await db.execute(sql`
    select ${OPERATOR_COLUMNS} from operators o order by o.created_at, o.id`);
  return result.rows.map((row) => withoutHash(readOperator(row)));
}

/**
 * The first owner, in one statement: the bootstrap code is consumed (its row lock serialises
 * two requests with one code) only while no operator exists, and the unique index on
 * `is_first_owner` stops two requests with two different codes. Null when refused.
 */
export async function insertFirstOwner(
  db: Database,
  codeHash: string,
  operator: Omit<NewOperator, 'role'>,
  event: AuditEvent,
): Promise<{ created: boolean; ownerExists: boolean }> {
  const at = operator.now.toISOString();
  const result = await db.execute(sql`
    with consumed as (
      update bootstrap_codes set consumed_at = ${at}::timestamptz
      where code_hash = ${codeHash} and consumed_at is null and expires_at > ${at}::timestamptz
        and not exists (select 1 from operators)
      returning id
    ),
    o as (
      insert into operators (id, email, email_normalized, password_hash, role, is_first_owner, created_at, updated_at)
      select ${operator.id}::uuid, ${operator.email}, ${operator.emailNormalized}, ${operator.passwordHash},
        'owner', true, ${at}::timestamptz, ${at}::timestamptz
      from consumed
      on conflict do nothing
      returning id
    ),
    r as (
      insert into operator_recovery_codes (operator_id, code_hash, created_at)
      select o.id, h, ${at}::timestamptz from o, unnest(${hashArray(operator.recoveryCodeHashes)}) as h
    ),
    audit as (${auditInsertEach(event, sql`o`, { targetId: sql`o.id`, actorId: sql`o.id` })})
    select (select count(*)::int from o) as created, exists (select 1 from operators) as owner_exists`);
  const row = result.rows[0];
  return {
    created: Number(row?.created ?? 0) > 0,
    ownerExists: row?.owner_exists === true || row?.owner_exists === 't',
  };
}

export type IssueOutcome =
  | { issued: true; expiresAt: Date }
  | { issued: false; reason: 'owner_exists' }
  | { issued: false; reason: 'code_live'; expiresAt: Date };

/**
 * Stores a bootstrap code's hash while no operator exists. With `replace`, earlier unused codes
 * are deleted (only the newest works); without, nothing is issued while one is still live.
 */
export async function insertBootstrapCode(
  db: Database,
  codeHash: string,
  now: Date,
  expiresAt: Date,
  replace: boolean,
): Promise<IssueOutcome> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    with state as (
      select exists (select 1 from operators) as owner_exists,
        (select max(expires_at) from bootstrap_codes where consumed_at is null and expires_at > ${at}::timestamptz) as live_until
    ),
    cleared as (
      delete from bootstrap_codes
      where consumed_at is null and (${replace}::boolean or expires_at <= ${at}::timestamptz)
        and not (select owner_exists from state)
    ),
    inserted as (
      insert into bootstrap_codes (code_hash, created_at, expires_at)
      select ${codeHash}, ${at}::timestamptz, ${expiresAt.toISOString()}::timestamptz from state
      where not owner_exists and (${replace}::boolean or live_until is null)
      returning expires_at
    )
    select state.owner_exists, state.live_until, (select expires_at from inserted) as issued_until from state`);
  const row = result.rows[0] ?? {};
  if (row.issued_until !== null && row.issued_until !== undefined) {
    return { issued: true, expiresAt: timestamp(row.issued_until) };
  }
  if (row.owner_exists === true || row.owner_exists === 't')
    return { issued: false, reason: 'owner_exists' };
  return { issued: false, reason: 'code_live', expiresAt: timestamp(row.live_until) };
}
