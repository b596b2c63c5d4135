// The shared metrics store: Upstash Redis, the one the rate limiter already uses, spoken to over
// its REST pipeline directly so a request's whole write is exactly one subrequest.
import {
  NO_TENANT,
  addCounters,
  sampleFields,
  type RequestSample,
  type TenantCounters,
} from './samples.ts';

export interface RedisREST {
  url: string;
  token: string;
}

const PREFIX = 'gatehouse:metrics';
/** Tenants with counters, scored by their last write (epoch seconds). */
const TENANT_INDEX = `${PREFIX}:tenants`;

/**
 * Cumulative counters (what Prometheus scrapes) live while written to: a tenant idle this long
 * loses them, which Prometheus reads as a counter reset. Bounds memory to the tenants in use.
 */
export const TOTAL_TTL_SECONDS = 8 * 24 * 3600;
/** Per-minute counters, for windows (the CLI's figures): the longest window is a day. */
export const MINUTE_TTL_SECONDS = 25 * 3600;
export const MAX_WINDOW_MINUTES = 24 * 60;
/** A metrics write waits no longer than this; it runs after the answer, so it only bounds waitUntil. */
export const METRICS_TIMEOUT_MS = 1000;

function totalKey(tenant: string): string {
  return `${PREFIX}:total:${tenant}`;
}

function minuteKey(tenant: string, minute: number): string {
  return `${PREFIX}:minute:${tenant}:${minute}`;
}

export type Command = Array<string | number>;

/** The commands recording one request: increments in both hashes, their TTLs, the index. */
export function recordCommands(sample: RequestSample, at: Date): Command[] {
  const total = totalKey(sample.tenant);
  const minute = minuteKey(sample.tenant, Math.floor(at.getTime() / 60_000));
  const commands: Command[] = [];
  for (const [field, increment] of sampleFields(sample)) {
    commands.push(['HINCRBY', total, field, increment], ['HINCRBY', minute, field, increment]);
  }
  const seconds = Math.floor(at.getTime() / 1000);
  commands.push(
    ['EXPIRE', total, TOTAL_TTL_SECONDS],
    ['EXPIRE', minute, MINUTE_TTL_SECONDS],
    ['ZADD', TENANT_INDEX, seconds, sample.tenant],
    ['EXPIRE', TENANT_INDEX, TOTAL_TTL_SECONDS],
  );
  return commands;
}

/** One POST /pipeline; a command's own error fails the call (nothing here should ever err). */
export async function pipeline(
  redis: RedisREST,
  commands: Command[],
  timeoutMs = METRICS_TIMEOUT_MS,
): Promise<unknown[]> {
  const response = await fetch(`${redis.url.replace(/\/+$/, '')}/pipeline`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${redis.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(commands),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`metrics store answered HTTP ${response.status}`);
  const replies = (await response.json()) as Array<{ result?: unknown; error?: string }>;
  const failed = replies.find((reply) => reply.error !== undefined);
  if (failed !== undefined) throw new Error('metrics store refused a command');
  return replies.map((reply) => reply.result);
}

export async function writeSample(
  redis: RedisREST,
  sample: RequestSample,
  at: Date,
): Promise<void> {
  await pipeline(redis, recordCommands(sample, at));
}

/**
 * Every tenant's cumulative counters (two round trips: the index, then the hashes). `only`
 * restricts to one tenant (an API key bound to it).
 */
export async function readTotals(
  redis: RedisREST,
  at: Date,
  options: { only?: string } = {},
): Promise<Map<string, TenantCounters>> {
  let tenants: string[];
  if (options.only !== undefined) tenants = [options.only];
  else {
    const cutoff = Math.floor(at.getTime() / 1000) - TOTAL_TTL_SECONDS;
    const [, members] = await pipeline(redis, [
      ['ZREMRANGEBYSCORE', TENANT_INDEX, 0, cutoff],
      ['ZRANGE', TENANT_INDEX, 0, -1],
    ]);
    tenants = Array.isArray(members) ? members.map(String) : [];
    if (!tenants.includes(NO_TENANT)) tenants.push(NO_TENANT);
  }
  const replies = await pipeline(
    redis,
    tenants.map((tenant) => ['HGETALL', totalKey(tenant)]),
  );
  const totals = new Map<string, TenantCounters>();
  tenants.forEach((tenant, index) => {
    const counters: TenantCounters = new Map();
    addCounters(counters, replies[index]);
    if (counters.size > 0) totals.set(tenant, counters);
  });
  return totals;
}

/** One tenant's counters summed over the last `minutes` minutes, this one included (one round trip). */
export async function readWindow(
  redis: RedisREST,
  tenant: string,
  minutes: number,
  at: Date,
): Promise<TenantCounters> {
  const last = Math.floor(at.getTime() / 60_000);
  const count = Math.min(Math.max(1, Math.floor(minutes)), MAX_WINDOW_MINUTES);
  const replies = await pipeline(
    redis,
    Array.from({ length: count }, (_, i) => ['HGETALL', minuteKey(tenant, last - i)]),
    10_000,
  );
  const counters: TenantCounters = new Map();
  for (const reply of replies) addCounters(counters, reply);
  return counters;
}
