// Issue 2, item 8: one JSON line per request carrying the request id, which is taken from a valid
// X-Request-Id (else generated), echoed on the response and sent on to the database; and no
// password, token, cookie or key planted in a request ever reaches the captured log output.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../src/env.ts';
import worker from '../../../src/index.ts';
import { CookieJar, makeTenant, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, roundTrips, send, testEnv, type Sent } from '../harness.ts';
import { requestBudget, type RequestBudget } from '../limits.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface RequestLine {
  level: string;
  message: string;
  time: string;
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

function requestLines(logs: string[]): RequestLine[] {
  return logs
    .map((line) => JSON.parse(line) as RequestLine)
    .filter((line) => line.message === 'request');
}

function onlyRequestLine(logs: string[]): RequestLine {
  const lines = requestLines(logs);
  expect(lines, 'exactly one request line').toHaveLength(1);
  return lines[0]!;
}

type Dispatched = Pick<Sent, 'response' | 'logs'>;

/** The Worker's fetch with the request exactly as given (`send` adds an X-Request-Id). */
async function dispatch(request: Request, bindings: Env = testEnv): Promise<Dispatched> {
  const budget: RequestBudget = { subrequests: 0, calls: [], logs: [] };
  const ctx = createExecutionContext();
  const response = await requestBudget.run(budget, async () => {
    const res = await worker.fetch(
      request as Request<unknown, IncomingRequestCfProperties>,
      bindings,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  });
  return { response, logs: budget.logs };
}

describe('request id', () => {
  it('echoes a valid incoming X-Request-Id and logs the request under it', async () => {
    const id = 'client-trace.42:abc_DEF-9';
    const sent = await send('/health', { headers: { 'X-Request-Id': id } });
    expect(sent.response.headers.get('X-Request-Id')).toBe(id);
    expect(onlyRequestLine(sent.logs).requestId).toBe(id);
  });

  it('accepts an id of exactly 128 characters', async () => {
    const id = 'a'.repeat(128);
    const sent = await send('/health', { headers: { 'X-Request-Id': id } });
    expect(sent.response.headers.get('X-Request-Id')).toBe(id);
  });

  for (const [name, id] of [
    ['too long (129 characters)', 'a'.repeat(129)],
    ['containing a space and !', 'bad id!'],
    ['containing a slash', 'a/b'],
    ['containing a quote', 'a"b'],
  ] as const) {
    it(`replaces an incoming id ${name} with a generated one`, async () => {
      const sent = await send('/health', { headers: { 'X-Request-Id': id } });
      const echoed = sent.response.headers.get('X-Request-Id');
      expect(echoed).toMatch(UUID);
      expect(onlyRequestLine(sent.logs).requestId).toBe(echoed);
      expect(sent.logs.join('\n')).not.toContain(id);
    });
  }

  it('generates an id when the request has none, a different one each time', async () => {
    const first = await dispatch(new Request('https://gatehouse.test/health'));
    const second = await dispatch(new Request('https://gatehouse.test/health'));
    const ids = [first, second].map((sent) => sent.response.headers.get('X-Request-Id'));
    for (const [index, sent] of [first, second].entries()) {
      expect(ids[index]).toMatch(UUID);
      expect(onlyRequestLine(sent.logs).requestId).toBe(ids[index]);
    }
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('sends the request id to the database with every query', async () => {
    const sent = await send('/health/ready', { headers: { 'X-Request-Id': 'ready-probe-1' } });
    expect(sent.response.status).toBe(200);
    expect(await roundTrips('ready-probe-1')).toBe(1);
  });

  it('sends the generated id, not the rejected one, to the database', async () => {
    const rejected = 'rejected id!';
    const sent = await send('/health/ready', { headers: { 'X-Request-Id': rejected } });
    const generated = sent.response.headers.get('X-Request-Id') ?? '';
    expect(generated).toMatch(UUID);
    expect(await roundTrips(generated)).toBe(1);
    expect(await roundTrips(rejected)).toBe(0);
  });
});

describe('request log line', () => {
  it('writes one JSON line with level, message, requestId, method, path, status, durationMs', async () => {
    const sent = await send('/health', { headers: { 'X-Request-Id': 'line-shape-1' } });
    const line = onlyRequestLine(sent.logs);
    expect(line).toMatchObject({
      level: 'info',
      message: 'request',
      requestId: 'line-shape-1',
      method: 'GET',
      path: '/health',
      status: 200,
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  });

  it('logs client errors at warn and refusals at error', async () => {
    const notFound = await send('/health/nothing-here');
    expect(onlyRequestLine(notFound.logs)).toMatchObject({
      level: notFound.response.status >= 500 ? 'error' : 'warn',
      status: notFound.response.status,
    });
    expect(notFound.response.status).toBeGreaterThanOrEqual(400);

    const refused = await send('/health', {}, { env: { PUBLIC_BASE_URL: 'not a url' } });
    expect(refused.response.status).toBe(503);
    expect(onlyRequestLine(refused.logs)).toMatchObject({ level: 'error', status: 503 });
  });
});

describe('secrets in requests never reach the logs', () => {
  const SECRET = 'planted-Secret-7Qz9xK2mWv';

  const planted: [string, () => Promise<Dispatched>][] = [
    [
      'a password in a JSON body',
      () =>
        send('/v1/nothing', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: 'a@example.com', password: SECRET }),
        }),
    ],
    [
      'an Authorization header',
      () => send('/v1/nothing', { headers: { Authorization: `Bearer ${SECRET}` } }),
    ],
    ['a Cookie header', () => send('/health', { headers: { Cookie: `gh_session=${SECRET}` } })],
    ['a query string', () => send(`/v1/nothing?token=${SECRET}&code=${SECRET}`)],
    ['a query string on /health', () => send(`/health?token=${SECRET}`)],
    [
      'a request without X-Request-Id, secret in body, header and query',
      () =>
        dispatch(
          new Request(`https://gatehouse.test/v1/nothing?password=${SECRET}`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              Authorization: `Basic ${btoa(`user:${SECRET}`)}`,
              Cookie: `refresh=${SECRET}`,
            },
            body: JSON.stringify({ password: SECRET, refresh_token: SECRET }),
          }),
        ),
    ],
    [
      'an invalid X-Request-Id made of the secret',
      () => send('/health', { headers: { 'X-Request-Id': `${SECRET}!` } }),
    ],
  ];

  for (const [name, request] of planted) {
    it(`keeps ${name} out of the logs`, async () => {
      const sent = await request();
      const line = onlyRequestLine(sent.logs);
      expect(line.status).toBe(sent.response.status);
      expect(line.path).not.toContain('?');
      expect(line.requestId).toBe(sent.response.headers.get('X-Request-Id'));
      const output = sent.logs.join('\n');
      expect(output).not.toContain(SECRET);
      expect(output).not.toContain(encodeURIComponent(SECRET));
      expect(output).not.toContain(btoa(`user:${SECRET}`));
    });
  }

  it('keeps passwords and session cookies of a real sign-up and sign-in out of the logs', async () => {
    const tenant = await makeTenant();
    const email = uniqueEmail();
    const password = `${SECRET}-Pw-1`;
    const wrongPassword = `${SECRET}-Wrong-2`;
    const jar = new CookieJar();
    const all: Dispatched[] = [];

    const registered = await send(
      `${tenant.base}/v1/auth/register`,
      jsonRequest('POST', { email, password }),
    );
    expect(registered.response.status).toBe(201);
    all.push(registered);
    const failed = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: wrongPassword }),
    );
    expect(failed.response.status).toBe(401);
    all.push(failed);
    const signedIn = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password }),
    );
    expect(signedIn.response.status).toBe(200);
    jar.store(signedIn.response);
    expect(jar.cookies.size, 'a session cookie was issued').toBeGreaterThan(0);
    all.push(signedIn);
    all.push(await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() }));

    const output = all.flatMap((sent) => sent.logs).join('\n');
    for (const secret of [password, wrongPassword, ...jar.cookies.values()]) {
      expect(output).not.toContain(secret);
    }
    for (const sent of all) {
      expect(onlyRequestLine(sent.logs)).toMatchObject({
        status: sent.response.status,
        tenantSlug: tenant.slug,
      });
    }
  });
});
