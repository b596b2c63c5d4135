// The data side of the Redis emulation: a keyspace of strings, hashes and sorted sets with
// expiry (checked lazily on access, as Redis does), and the commands that read and write it.
import { OK, StatusReply, type Reply } from './redis-reply.ts';
import {
  CommandError,
  formatScore,
  globToRegExp,
  parseBound,
  parseInteger,
  parseSetOptions,
} from './redis-parse.ts';

/** [arity (negative: at least), implementation]; arity counts the command name, as Redis does. */
export type CommandTable = Record<string, [number, (args: string[]) => Reply]>;

interface Kinds {
  string: string;
  hash: Map<string, string>;
  zset: Map<string, number>;
}

type Value = { [K in keyof Kinds]: { kind: K; data: Kinds[K] } }[keyof Kinds];

interface Entry {
  value: Value;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

export interface Keyspace {
  commands: CommandTable;
  clear(): void;
}

export function createKeyspace(now: () => number): Keyspace {
  const store = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const entry = store.get(key);
    if (entry !== undefined && entry.expiresAt !== null && entry.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };
  function read<K extends keyof Kinds>(key: string, kind: K): Kinds[K] | undefined {
    const entry = live(key);
    if (entry === undefined) return undefined;
    if (entry.value.kind !== kind) throw new CommandError(WRONGTYPE);
    return entry.value.data as Kinds[K];
  }
  const hash = (key: string): Map<string, string> => {
    let data = read(key, 'hash');
    if (data === undefined)
      store.set(key, { value: { kind: 'hash', data: (data = new Map()) }, expiresAt: null });
    return data;
  };
  const zset = (key: string): Map<string, number> => {
    let data = read(key, 'zset');
    if (data === undefined)
      store.set(key, { value: { kind: 'zset', data: (data = new Map()) }, expiresAt: null });
    return data;
  };
  const dropIfEmpty = (key: string, data: Map<string, unknown>): void => {
    if (data.size === 0) store.delete(key);
  };
  const incrementBy = (key: string, by: number): number => {
    const entry = live(key);
    const current = entry === undefined ? 0 : parseInteger(read(key, 'string') ?? '0');
    const next = current + by;
    if (!Number.isSafeInteger(next))
      throw new CommandError('ERR increment or decrement would overflow');
    store.set(key, {
      value: { kind: 'string', data: String(next) },
      expiresAt: entry?.expiresAt ?? null,
    });
    return next;
  };
  const expire = (key: string, ms: number): number => {
    const entry = live(key);
    if (entry === undefined) return 0;
    if (ms <= 0) store.delete(key);
    else entry.expiresAt = now() + ms;
    return 1;
  };
  const ttl = (key: string, unit: number): number => {
    const entry = live(key);
    if (entry === undefined) return -2;
    if (entry.expiresAt === null) return -1;
    return Math.round((entry.expiresAt - now()) / unit);
  };
  const commands: CommandTable = {
    get: [2, (a) => read(a[1]!, 'string') ?? null],
    set: [
      -3,
      (a) => {
        const [key, value] = [a[1]!, a[2]!];
        const options = parseSetOptions(a.slice(3), now());
        const entry = live(key);
        const previous = options.get ? (read(key, 'string') ?? null) : undefined;
        if ((options.nx && entry !== undefined) || (options.xx && entry === undefined))
          return options.get ? previous! : null;
        const expiresAt = options.keepTTL
          ? (entry?.expiresAt ?? null)
          : options.ttlMs === null
            ? null
            : now() + options.ttlMs;
        store.set(key, { value: { kind: 'string', data: value }, expiresAt });
        return options.get ? previous! : OK;
      },
    ],
    setex: [4, (a) => commands.set![1](['set', a[1]!, a[3]!, 'EX', a[2]!])],
    psetex: [4, (a) => commands.set![1](['set', a[1]!, a[3]!, 'PX', a[2]!])],
    setnx: [3, (a) => (commands.set![1](['set', a[1]!, a[2]!, 'NX']) === null ? 0 : 1)],
    mget: [
      -2,
      (a) =>
        a.slice(1).map((key) => {
          const entry = live(key);
          return entry?.value.kind === 'string' ? entry.value.data : null;
        }),
    ],
    mset: [
      -3,
      (a) => {
        if (a.length % 2 === 0)
          throw new CommandError("ERR wrong number of arguments for 'mset' command");
        for (let i = 1; i < a.length; i += 2)
          store.set(a[i]!, { value: { kind: 'string', data: a[i + 1]! }, expiresAt: null });
        return OK;
      },
    ],
    incr: [2, (a) => incrementBy(a[1]!, 1)],
    incrby: [3, (a) => incrementBy(a[1]!, parseInteger(a[2]!))],
    decr: [2, (a) => incrementBy(a[1]!, -1)],
    decrby: [3, (a) => incrementBy(a[1]!, -parseInteger(a[2]!))],
    del: [
      -2,
      (a) => a.slice(1).filter((key) => live(key) !== undefined && store.delete(key)).length,
    ],
    unlink: [-2, (a) => commands.del![1](a)],
    exists: [-2, (a) => a.slice(1).filter((key) => live(key) !== undefined).length],
    type: [2, (a) => new StatusReply(live(a[1]!)?.value.kind ?? 'none')],
    expire: [3, (a) => expire(a[1]!, parseInteger(a[2]!) * 1000)],
    pexpire: [3, (a) => expire(a[1]!, parseInteger(a[2]!))],
    persist: [
      2,
      (a) => {
        const entry = live(a[1]!);
        if (entry?.expiresAt == null) return 0;
        entry.expiresAt = null;
        return 1;
      },
    ],
    ttl: [2, (a) => ttl(a[1]!, 1000)],
    pttl: [2, (a) => ttl(a[1]!, 1)],
    hget: [3, (a) => read(a[1]!, 'hash')?.get(a[2]!) ?? null],
    hset: [
      -4,
      (a) => {
        if (a.length % 2 === 1)
          throw new CommandError("ERR wrong number of arguments for 'hset' command");
        const data = hash(a[1]!);
        let added = 0;
        for (let i = 2; i < a.length; i += 2) {
          if (!data.has(a[i]!)) added += 1;
          data.set(a[i]!, a[i + 1]!);
        }
        return added;
      },
    ],
    hmset: [-4, (a) => (commands.hset![1](a), OK)],
    hmget: [
      -3,
      (a) => {
        const data = read(a[1]!, 'hash');
        return a.slice(2).map((field) => data?.get(field) ?? null);
      },
    ],
    hgetall: [2, (a) => [...(read(a[1]!, 'hash') ?? new Map<string, string>())].flat()],
    hdel: [
      -3,
      (a) => {
        const data = read(a[1]!, 'hash');
        if (data === undefined) return 0;
        const removed = a.slice(2).filter((field) => data.delete(field)).length;
        dropIfEmpty(a[1]!, data);
        return removed;
      },
    ],
    hexists: [3, (a) => (read(a[1]!, 'hash')?.has(a[2]!) ? 1 : 0)],
    hlen: [2, (a) => read(a[1]!, 'hash')?.size ?? 0],
    hincrby: [
      4,
      (a) => {
        const data = hash(a[1]!);
        const next =
          parseInteger(data.get(a[2]!) ?? '0', 'ERR hash value is not an integer') +
          parseInteger(a[3]!);
        data.set(a[2]!, String(next));
        return next;
      },
    ],
    zadd: [
      -4,
      (a) => {
        let i = 2;
        const flags = new Set<string>();
        while (i < a.length && ['nx', 'xx', 'ch', 'gt', 'lt'].includes(a[i]!.toLowerCase()))
          flags.add(a[i++]!.toLowerCase());
        if ((a.length - i) % 2 !== 0 || i === a.length) throw new CommandError('ERR syntax error');
        const data = zset(a[1]!);
        let changed = 0;
        for (; i < a.length; i += 2) {
          const score = Number(a[i]);
          if (Number.isNaN(score)) throw new CommandError('ERR value is not a valid float');
          const member = a[i + 1]!;
          const existing = data.get(member);
          if (
            (flags.has('nx') && existing !== undefined) ||
            (flags.has('xx') && existing === undefined)
          )
            continue;
          if (
            existing !== undefined &&
            ((flags.has('gt') && score <= existing) || (flags.has('lt') && score >= existing))
          )
            continue;
          if (existing === undefined || (flags.has('ch') && existing !== score)) changed += 1;
          data.set(member, score);
        }
        dropIfEmpty(a[1]!, data);
        return changed;
      },
    ],
    zcard: [2, (a) => read(a[1]!, 'zset')?.size ?? 0],
    zscore: [
      3,
      (a) => {
        const score = read(a[1]!, 'zset')?.get(a[2]!);
        return score === undefined ? null : formatScore(score);
      },
    ],
    zrange: [
      -4,
      (a) => {
        const withScores = a.slice(4).some((option) => option.toLowerCase() === 'withscores');
        if (a.length > 5 || (a.length === 5 && !withScores))
          throw new CommandError('ERR syntax error');
        const sorted = sortZset(read(a[1]!, 'zset'));
        const length = sorted.length;
        let start = parseInteger(a[2]!);
        let stop = parseInteger(a[3]!);
        if (start < 0) start = Math.max(0, length + start);
        if (stop < 0) stop = length + stop;
        stop = Math.min(stop, length - 1);
        const slice = start > stop ? [] : sorted.slice(start, stop + 1);
        return slice.flatMap(([member, score]) =>
          withScores ? [member, formatScore(score)] : [member],
        );
      },
    ],
    zremrangebyscore: [
      4,
      (a) => {
        const data = read(a[1]!, 'zset');
        if (data === undefined) return 0;
        const [min, max] = [parseBound(a[2]!), parseBound(a[3]!)];
        let removed = 0;
        for (const [member, score] of data) {
          if (min.test(score, 'min') && max.test(score, 'max'))
            removed += Number(data.delete(member));
        }
        dropIfEmpty(a[1]!, data);
        return removed;
      },
    ],
    scan: [
      -2,
      (a) => {
        let pattern: RegExp | null = null;
        let type: string | null = null;
        for (let i = 2; i < a.length; i += 2) {
          const option = a[i]!.toLowerCase();
          if (a[i + 1] === undefined) throw new CommandError('ERR syntax error');
          if (option === 'match') pattern = globToRegExp(a[i + 1]!);
          else if (option === 'type') type = a[i + 1]!.toLowerCase();
          else if (option !== 'count') throw new CommandError('ERR syntax error');
        }
        // One pass over the whole keyspace: the cursor always comes back as 0.
        const keys = [...store.keys()].filter((key) => {
          const entry = live(key);
          return (
            entry !== undefined &&
            (pattern?.test(key) ?? true) &&
            (type === null || entry.value.kind === type)
          );
        });
        return ['0', keys];
      },
    ],
    keys: [
      2,
      (a) =>
        [...store.keys()].filter((key) => live(key) !== undefined && globToRegExp(a[1]!).test(key)),
    ],
    dbsize: [1, () => [...store.keys()].filter((key) => live(key) !== undefined).length],
  };
  return { commands, clear: () => store.clear() };
}

function sortZset(data: Map<string, number> | undefined): [string, number][] {
  return [...(data ?? [])].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0));
}
