// The local Upstash REST endpoint, driven by the real @upstash/redis and @upstash/ratelimit
// clients against both backends: a real redis-server (when installed) and the Lua emulation.
// Protocol source: Upstash's REST API docs; @upstash/redis pkg/http.ts (base64 decoding).
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer } from '../../scripts/stack/redis.ts';
import {
  startUpstashEndpoint,
  type UpstashBackendKind,
  type UpstashEndpoint,
} from '../../scripts/stack/upstash-endpoint.ts';

const REDIS_INSTALLED = findRedisServer() !== null;

const BACKENDS: { kind: UpstashBackendKind; title: string; skip: boolean }[] = [
  { kind: 'emulated', title: 'the in-process emulation (fengari Lua)', skip: false },
  {
    kind: 'redis',
    title: REDIS_INSTALLED
      ? 'a real redis-server'
      : 'a real redis-server — SKIPPED: redis-server is not installed on this machine',
    skip: !REDIS_INSTALLED,
  },
];

async function post(
  endpoint: UpstashEndpoint,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${endpoint.token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`Upstash endpoint backed by ${backend.title}`, () => {
    let endpoint: UpstashEndpoint;
    let redis: Redis;
    // Each run gets its own key space, so a shared redis-server never sees stale keys.
    const ns = `t${Date.now().toString(36)}:`;

    beforeAll(async () => {
      endpoint = await startUpstashEndpoint({ backend: backend.kind });
      redis = new Redis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false });
    });
    afterAll(async () => {
      await endpoint?.close();
    });

    it('reports the backend it was asked for', () => {
      expect(endpoint.backend).toBe(backend.kind);
    });

    it('round-trips UTF-8 strings, JSON values and integers through the default base64 encoding', async () => {
      expect(await redis.set(`${ns}greeting`, 'héllo ✓ 👋')).toBe('OK');
      expect(await redis.get(`${ns}greeting`)).toBe('héllo ✓ 👋');
      await redis.set(`${ns}json`, { a: 1, b: ['x'] });
      expect(await redis.get(`${ns}json`)).toEqual({ a: 1, b: ['x'] });
      expect(await redis.incr(`${ns}n`)).toBe(1);
      expect(await redis.incrby(`${ns}n`, 41)).toBe(42);
      expect(await redis.decr(`${ns}n`)).toBe(41);
      expect(await redis.mget(`${ns}greeting`, `${ns}missing`)).toEqual(['héllo ✓ 👋', null]);
      expect(await redis.exists(`${ns}greeting`, `${ns}n`, `${ns}missing`)).toBe(2);
      expect(await redis.del(`${ns}greeting`, `${ns}missing`)).toBe(1);
      expect(await redis.get(`${ns}greeting`)).toBeNull();
    });

    it('base64-encodes every string in a result, nested ones too, but not numbers, null or "OK"', async () => {
      const headers = { 'upstash-encoding': 'base64' };
      expect((await post(endpoint, '/', ['SET', `${ns}raw`, 'v1'], headers)).body).toEqual({
        result: 'OK',
      });
      await post(endpoint, '/', ['HSET', `${ns}h`, 'f', 'ü'], headers);
      const hash = await post(endpoint, '/', ['HGETALL', `${ns}h`], headers);
      expect(hash).toEqual({ status: 200, body: { result: [b64('f'), b64('ü')] } });
      const pipeline = await post(
        endpoint,
        '/pipeline',
        [['GET', `${ns}raw`], ['INCR', `${ns}count`], ['GET', `${ns}nothing`], ['PING']],
        headers,
      );
      expect(pipeline.body).toEqual([
        { result: b64('v1') },
        { result: 1 },
        { result: null },
        { result: b64('PONG') },
      ]);
      // Without the header, strings come back as they are.
      expect((await post(endpoint, '/', ['HGETALL', `${ns}h`])).body).toEqual({
        result: ['f', 'ü'],
      });
    });

    it('honours expiry: SET PX, EX, PEXPIRE, TTL and PTTL', async () => {
      // Expiries long enough to outlast the checks on a loaded machine, short enough to wait out.
      await redis.set(`${ns}short`, 'x', { px: 400 });
      await redis.set(`${ns}long`, 'y', { ex: 100 });
      expect(await redis.ttl(`${ns}long`)).toBeGreaterThan(95);
      expect(await redis.pttl(`${ns}short`)).toBeGreaterThan(0);
      expect(await redis.ttl(`${ns}nokey`)).toBe(-2);
      await redis.set(`${ns}forever`, 'z');
      expect(await redis.ttl(`${ns}forever`)).toBe(-1);
      expect(await redis.pexpire(`${ns}forever`, 400)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await redis.get(`${ns}short`)).toBeNull();
      expect(await redis.exists(`${ns}forever`)).toBe(0);
      expect(await redis.get(`${ns}long`)).toBe('y');
      expect(await redis.set(`${ns}long`, 'other', { nx: true })).toBeNull();
      expect(await redis.get(`${ns}long`)).toBe('y');
    });

    it('keeps hashes and sorted sets', async () => {
      await redis.hset(`${ns}user`, { name: 'ada', visits: 1 });
      expect(await redis.hincrby(`${ns}user`, 'visits', 2)).toBe(3);
      expect(await redis.hget(`${ns}user`, 'name')).toBe('ada');
      expect(await redis.hgetall(`${ns}user`)).toEqual({ name: 'ada', visits: 3 });
      await redis.zadd(`${ns}z`, { score: 3, member: 'c' }, { score: 1, member: 'a' });
      await redis.zadd(`${ns}z`, { score: 2, member: 'b' });
      expect(await redis.zrange(`${ns}z`, 0, -1)).toEqual(['a', 'b', 'c']);
      expect(await redis.zremrangebyscore(`${ns}z`, '-inf', '(2')).toBe(1);
      expect(await redis.zcard(`${ns}z`)).toBe(2);
    });

    it('runs a MULTI/EXEC transaction and refuses it whole on a queueing error', async () => {
      const results = await redis
        .multi()
        .set(`${ns}tx`, 'a')
        .incr(`${ns}txn`)
        .get(`${ns}tx`)
        .exec();
      expect(results).toEqual(['OK', 1, 'a']);
      const refused = await post(endpoint, '/multi-exec', [
        ['SET', `${ns}tx2`, 'a'],
        ['NOSUCHCOMMAND'],
      ]);
      expect(refused.status).toBe(400);
      expect(String((refused.body as { error: string }).error)).toMatch(/unknown command/i);
      expect(await redis.exists(`${ns}tx2`)).toBe(0);
    });

    it('answers a failing command with 400 {error} and a failing pipeline entry with {error}', async () => {
      await redis.set(`${ns}word`, 'abc');
      const single = await post(endpoint, '/', ['INCR', `${ns}word`]);
      expect(single.status).toBe(400);
      expect((single.body as { error: string }).error).toMatch(/^ERR .*not an integer/);
      await expect(redis.incr(`${ns}word`)).rejects.toThrow(/not an integer/);
      const mixed = await post(endpoint, '/pipeline', [
        ['INCR', `${ns}word`],
        ['GET', `${ns}word`],
      ]);
      expect(mixed.status).toBe(200);
      expect(mixed.body).toEqual([
        { error: expect.stringMatching(/not an integer/) },
        { result: 'abc' },
      ]);
      expect((await post(endpoint, '/', 'not a command')).status).toBe(400);
    });

    it('keeps SHA1 semantics for scripts with a #!lua flags line: NOSCRIPT, then EVAL, then EVALSHA', async () => {
      const script = '#!lua flags=allow-key-locking\nreturn {KEYS[1], ARGV[1], 7}';
      const sha = await sha1(script);
      const before = await post(endpoint, '/', ['EVALSHA', sha, '1', `${ns}k`, 'v']);
      expect(before.status).toBe(400);
      expect((before.body as { error: string }).error).toMatch(/^NOSCRIPT/);
      expect(await redis.eval(script, [`${ns}k`], ['v'])).toEqual([`${ns}k`, 'v', 7]);
      expect(await redis.evalsha(sha, [`${ns}k`], ['w'])).toEqual([`${ns}k`, 'w', 7]);
      expect(await redis.scriptLoad(script)).toBe(sha);
      expect(await redis.scriptExists(sha, '0'.repeat(40))).toEqual([1, 0]);
    });

    it('rate-limits with slidingWindow: allows the limit, then refuses; getRemaining and resetUsedTokens', async () => {
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.slidingWindow(3, '1 h'),
        prefix: `${ns}sw`,
        timeout: 0, // a hung endpoint must fail the test, not pass as "allowed on timeout"
        ephemeralCache: false,
      });
      const outcomes = [];
      for (let i = 0; i < 5; i += 1) {
        const result = await limiter.limit('ip-1');
        await result.pending;
        outcomes.push([result.success, result.remaining, result.reason]);
      }
      expect(outcomes).toEqual([
        [true, 2, undefined],
        [true, 1, undefined],
        [true, 0, undefined],
        [false, 0, undefined],
        [false, 0, undefined],
      ]);
      expect((await limiter.getRemaining('ip-1')).remaining).toBe(0);
      expect((await limiter.getRemaining('ip-2')).remaining).toBe(3);
      await limiter.resetUsedTokens('ip-1');
      expect((await limiter.getRemaining('ip-1')).remaining).toBe(3);
      expect((await limiter.limit('ip-1')).success).toBe(true);
    });

    it('rate-limits with fixedWindow past the limit, per identifier', async () => {
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(2, '1 h'),
        prefix: `${ns}fw`,
        timeout: 0,
        ephemeralCache: false,
      });
      const a = [];
      for (let i = 0; i < 3; i += 1) a.push((await limiter.limit('user-a')).success);
      expect(a).toEqual([true, true, false]);
      expect((await limiter.limit('user-b')).success).toBe(true);
      expect((await limiter.getRemaining('user-a')).remaining).toBe(0);
      expect((await limiter.getRemaining('user-b')).remaining).toBe(1);
      await limiter.resetUsedTokens('user-a');
      expect((await limiter.limit('user-a')).success).toBe(true);
    });

    it('refuses a wrong or missing token with 401 {error}', async () => {
      const wrong = await post(endpoint, '/', ['PING'], { authorization: 'Bearer not-the-token' });
      expect(wrong).toEqual({ status: 401, body: { error: expect.any(String) } });
      const missing = await fetch(`${endpoint.url}/pipeline`, {
        method: 'POST',
        body: JSON.stringify([['PING']]),
      });
      expect(missing.status).toBe(401);
      const client = new Redis({
        url: endpoint.url,
        token: 'not-the-token',
        retry: false,
        enableTelemetry: false,
      });
      await expect(client.get('x')).rejects.toThrow();
    });
  });
}

async function sha1(text: string): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return Buffer.from(hash).toString('hex');
}
