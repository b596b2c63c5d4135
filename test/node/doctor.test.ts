// `npm run doctor` (scripts/doctor.ts): green against `npm run dev` (the smoke flow on a throwaway
// account, deleted afterwards through the admin API), and red on the right check against a small
// Node server that imitates a deployment and breaks one thing at a time.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../scripts/doctor.ts';
import type { CheckResult } from '../../scripts/doctor/checks.ts';
import {
  ROOT,
  adminPost,
  bootstrapOperator,
  startDevStack,
  type DevStack,
} from './dev-stack-helpers.ts';

const run = promisify(execFile);

type Break =
  | 'cors-wildcard'
  | 'no-nosniff'
  | 'schema-mismatch'
  | 'private-jwk'
  | 'limiter-down'
  | 'cookie-not-httponly'
  | 'user-not-deleted'
  | 'discovery-wrong-issuer';

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** A deployment of tenant `acme` that answers every check correctly, but for what `broken` names. */
function fakeDeployment(broken: Set<Break>, deleted: string[]): Server {
  let signedIn = false;
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const all: Record<string, string> = {
        'Content-Type': 'application/json',
        ...SECURITY_HEADERS,
        ...headers,
      };
      if (broken.has('no-nosniff')) delete all['X-Content-Type-Options'];
      if (broken.has('cors-wildcard')) all['Access-Control-Allow-Origin'] = '*';
      res.writeHead(status, all).end(body === null ? undefined : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    const route = `${req.method} ${url.pathname}`;
    const base = `http://${req.headers.host}`;
    if (route === 'GET /health') return send(200, { status: 'ok' });
    if (route === 'GET /health/ready')
      return broken.has('schema-mismatch')
        ? send(503, { error: 'schema_mismatch', error_description: 'database 9, build 7' })
        : send(200, { status: 'ready', schema_version: 7, expected_version: 7 });
    if (url.pathname === '/t/acme/v1/auth/session')
      return req.method === 'OPTIONS'
        ? send(403, { error: 'origin_not_allowed' })
        : send(signedIn && req.headers.cookie === 'sid=live' ? 200 : 401, {});
    if (route === 'GET /t/acme/.well-known/jwks.json')
      return send(200, {
        keys: [
          {
            kty: 'OKP',
            crv: 'Ed25519',
            kid: 'k1',
            x: 'AA',
            ...(broken.has('private-jwk') ? { d: 'AA' } : {}),
          },
        ],
      });
    if (route === 'GET /t/acme/.well-known/openid-configuration') {
      const issuer = broken.has('discovery-wrong-issuer') ? `${base}/t/other` : `${base}/t/acme`;
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
      });
    }
    if (route === 'GET /admin/api/v1/metrics')
      return broken.has('limiter-down')
        ? send(503, { error: 'metrics_unavailable' })
        : send(200, null, { 'Content-Type': 'text/plain; version=0.0.4' });
    if (route === 'POST /t/acme/v1/auth/register') {
      signedIn = true;
      return send(
        201,
        { user: { id: 'u-1' } },
        {
          'Set-Cookie': `sid=live; Path=/; SameSite=Lax${broken.has('cookie-not-httponly') ? '' : '; HttpOnly'}`,
        },
      );
    }
    if (route === 'POST /t/acme/v1/auth/logout') {
      signedIn = false;
      return send(200, {}, { 'Set-Cookie': 'sid=; Max-Age=0' });
    }
    if (route === 'DELETE /admin/api/v1/tenants/acme/users/u-1') {
      if (broken.has('user-not-deleted')) return send(403, { error: 'insufficient_scope' });
      deleted.push('u-1');
      return send(200, { status: 'deleted' });
    }
    return send(404, { error: 'not_found' });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function doctorAgainst(broken: Break[], options: { apiKey?: string | null } = {}) {
  const deleted: string[] = [];
  const server = fakeDeployment(new Set(broken), deleted);
  try {
    const base = await listen(server);
    const results = await runDoctor({
      baseURL: base,
      tenant: 'acme',
      apiKey: options.apiKey === undefined ? 'key' : options.apiKey,
    });
    return {
      results,
      deleted,
      reds: results.filter((r) => r.verdict === 'red').map((r) => r.name),
    };
  } finally {
    server.close();
  }
}

describe('doctor against a deployment that breaks one thing', () => {
  it('is all green (https and hsts skipped on loopback) when nothing is broken, and deletes the throwaway user', async () => {
    const { results, reds, deleted } = await doctorAgainst([]);
    expect(reds).toEqual([]);
    const verdicts = Object.fromEntries(results.map((r) => [r.name, r.verdict]));
    expect(verdicts).toMatchObject({
      https: 'yellow',
      hsts: 'yellow',
      cookies: 'green',
      discovery: 'green',
    });
    expect(deleted).toEqual(['u-1']);
  });

  for (const [broken, check] of [
    ['cors-wildcard', 'cors'],
    ['no-nosniff', 'security-headers'],
    ['schema-mismatch', 'schema'],
    ['private-jwk', 'jwks'],
    ['limiter-down', 'rate-limiter'],
    ['cookie-not-httponly', 'cookies'],
    ['discovery-wrong-issuer', 'discovery'],
  ] as const) {
    it(`is red on ${check} when the deployment has ${broken}`, async () => {
      const { reds } = await doctorAgainst([broken]);
      // A schema mismatch is also a failed readiness probe; nothing else turns red.
      expect(reds).toEqual(broken === 'schema-mismatch' ? ['ready', 'schema'] : [check]);
    });
  }

  it('still deletes the throwaway user when its cookie is wrong, and is red when it cannot', async () => {
    expect((await doctorAgainst(['cookie-not-httponly'])).deleted).toEqual(['u-1']);
    const { results } = await doctorAgainst(['user-not-deleted']);
    expect(results.find((r) => r.name === 'cookies')).toMatchObject({
      verdict: 'red',
      detail: expect.stringContaining('NOT deleted'),
    });
  });

  it('without --api-key makes only read-only checks: cookies and rate limiter yellow', async () => {
    const { results, deleted } = await doctorAgainst([], { apiKey: null });
    expect(
      results
        .filter((r) => r.verdict === 'yellow')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['cookies', 'hsts', 'https', 'rate-limiter']);
    expect(deleted).toEqual([]);
  });

  it('is red on https for a plain-http base URL that is not loopback', async () => {
    const results = await runDoctor({
      baseURL: 'http://gatehouse.invalid',
      tenant: null,
      apiKey: null,
      timeoutMs: 2000,
    });
    expect(results.find((r) => r.name === 'https')?.verdict).toBe('red');
    expect(results.find((r) => r.name === 'health')).toMatchObject({
      verdict: 'red',
      detail: expect.stringMatching(/^no answer/),
    });
  });

  it('exits 1 on red with --json listing every check, 2 on bad usage', async () => {
    const server = fakeDeployment(new Set(['cors-wildcard']), []);
    const base = await listen(server);
    try {
      const failed = await run(
        process.execPath,
        ['scripts/doctor.ts', '--base-url', base, '--tenant', 'acme', '--json'],
        { cwd: ROOT },
      ).catch((error: { code: number; stdout: string }) => error);
      expect((failed as { code: number }).code).toBe(1);
      const report = JSON.parse((failed as { stdout: string }).stdout) as {
        ok: boolean;
        checks: CheckResult[];
      };
      expect(report.ok).toBe(false);
      expect(report.checks.find((c) => c.name === 'cors')?.verdict).toBe('red');
      const usage = await run(process.execPath, ['scripts/doctor.ts'], { cwd: ROOT }).catch(
        (error: { code: number }) => error,
      );
      expect((usage as { code: number }).code).toBe(2);
    } finally {
      server.close();
    }
  });
});

describe.skipIf(process.platform === 'win32')('doctor against npm run dev', () => {
  let stack: DevStack;
  let apiKey: string;

  beforeAll(async () => {
    stack = await startDevStack({ readyWithinMs: 150_000 });
    expect(stack.readyStatus, `the dev stack did not come up:\n${stack.output()}`).toBe(200);
    const cookie = await bootstrapOperator(stack);
    const created = await adminPost(
      stack,
      '/api-keys',
      { name: 'doctor', scopes: ['users:write', 'metrics:read'] },
      cookie,
    );
    expect(created.status).toBe(201);
    apiKey = ((await created.json()) as { key: string }).key;
  }, 200_000);

  afterAll(() => stack?.cleanup());

  it('is green on every check that applies (exit 0), the smoke flow included', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        'scripts/doctor.ts',
        '--base-url',
        stack.base,
        '--tenant',
        'default',
        '--api-key',
        apiKey,
        '--json',
      ],
      { cwd: ROOT },
    );
    const report = JSON.parse(stdout) as { ok: boolean; checks: CheckResult[] };
    const verdicts = Object.fromEntries(report.checks.map((c) => [c.name, c.verdict]));
    expect(report.ok, stdout).toBe(true);
    expect(verdicts).toMatchObject({
      health: 'green',
      ready: 'green',
      schema: 'green',
      'security-headers': 'green',
      cors: 'green',
      jwks: 'green',
      'rate-limiter': 'green',
      cookies: 'green',
      // Loopback http: development.
      https: 'yellow',
      hsts: 'yellow',
    });
    // Discovery is another helper's: green once it is served, skipped (404) until then.
    expect(['green', 'yellow']).toContain(verdicts.discovery);
  });
});
