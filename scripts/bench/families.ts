// The endpoint families the benchmark drives, and the throwaway tenant and user they act on.
import type { AutocannonRequest } from 'autocannon';
import { adminCall, type BenchStack } from './stack.ts';

export const USER_PASSWORD = 'Saffron-Tidal-Meadow-58';

/** Every per-tenant limit the families hit, raised so the benchmark measures work, not 429s. */
const RAISED_LIMITS = ['login.ip', 'login.account', 'register.ip', 'token.refresh'];

export interface BenchTenant {
  slug: string;
  /** The tenant API's origin + prefix: `${api}/v1/auth/session`. */
  api: string;
  origin: string;
  email: string;
  cookie: string;
  accessToken: string;
  /** Fresh refresh tokens, one per concurrent refresher (and spares); the family keeps it fed. */
  refreshTokens: string[];
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status)
    throw new Error(`${what} answered ${response.status}: ${await response.text()}`);
}

/** Creates the tenant (floor 0, raised limits) through the admin API, and one signed-in user. */
export async function createBenchTenant(
  stack: BenchStack,
  operatorCookie: string,
  options: { refreshTokens: number },
): Promise<BenchTenant> {
  const slug = `bench-${Date.now().toString(36)}`;
  const created = await adminCall(
    stack,
    'POST',
    '/tenants',
    {
      slug,
      name: 'Benchmark (throwaway)',
      settings: {
        credential_response_floor_ms: 0,
        rate_limits: Object.fromEntries(
          RAISED_LIMITS.map((name) => [name, { limit: 1_000_000, window_seconds: 60 }]),
        ),
      },
    },
    operatorCookie,
  );
  await expectStatus(created, 201, 'creating the benchmark tenant');
  const api = `${stack.base}/t/${slug}`;
  const email = 'bench-user@bench.example';
  const registered = await fetch(`${api}/v1/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: USER_PASSWORD }),
  });
  await expectStatus(registered, 201, 'registering the benchmark user');
  const cookie = (registered.headers.get('set-cookie') ?? '').split(';')[0]!;
  if (cookie === '') throw new Error('registration set no session cookie');
  const exchange = async (): Promise<{ access_token: string; refresh_token: string }> => {
    const response = await fetch(`${api}/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: stack.base },
      body: JSON.stringify({ grant_type: 'session' }),
    });
    await expectStatus(response, 200, 'exchanging the session for tokens');
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const first = await exchange();
  const refreshTokens = [first.refresh_token];
  while (refreshTokens.length < options.refreshTokens)
    refreshTokens.push((await exchange()).refresh_token);
  return {
    slug,
    api,
    origin: stack.base,
    email,
    cookie,
    accessToken: first.access_token,
    refreshTokens,
  };
}

export interface Family {
  name: string;
  /** Requests timed under load (CPU per request is measured over exactly these). */
  amount: number;
  /** Budget of workerd CPU ms per request; a function of the measured hash time for login. */
  cpuBudgetMs?: (hashMs: number) => number;
  /** Whether this family hashes a password once per request (login ratio to the PBKDF2 ceiling). */
  hashesPassword?: boolean;
  /** What autocannon sends (path relative to the tenant API). */
  request: AutocannonRequest;
  /** One request outside the load, carrying `requestId`, for the round-trip count. */
  once(requestId: string): Promise<Response>;
}

export function benchFamilies(tenant: BenchTenant, scale: number): Family[] {
  const prefix = new URL(tenant.api).pathname;
  const json = { 'Content-Type': 'application/json' };
  const amount = (n: number): number => Math.max(20, Math.round(n * scale));
  const call = (path: string, init: RequestInit, requestId: string): Promise<Response> =>
    fetch(`${tenant.api}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), 'X-Request-Id': requestId },
    });
  const bearer = { Authorization: `Bearer ${tenant.accessToken}` };
  const loginBody = JSON.stringify({ email: tenant.email, password: USER_PASSWORD });
  let registered = 0;
  const spare = [...tenant.refreshTokens];
  const refreshOnce = async (requestId: string): Promise<Response> => {
    const response = await call(
      '/v1/auth/token',
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: spare.shift() }),
      },
      requestId,
    );
    const body = (await response.clone().json()) as { refresh_token?: string };
    if (body.refresh_token !== undefined) spare.push(body.refresh_token);
    return response;
  };
  return [
    {
      name: 'bearer session',
      amount: amount(600),
      cpuBudgetMs: () => 1,
      request: { method: 'GET', path: `${prefix}/v1/auth/session`, headers: bearer },
      once: (id) => call('/v1/auth/session', { headers: bearer }, id),
    },
    {
      name: 'cookie session',
      amount: amount(400),
      cpuBudgetMs: () => 1.5,
      request: {
        method: 'GET',
        path: `${prefix}/v1/auth/session`,
        headers: { Cookie: tenant.cookie },
      },
      once: (id) => call('/v1/auth/session', { headers: { Cookie: tenant.cookie } }, id),
    },
    {
      name: 'login',
      amount: amount(100),
      cpuBudgetMs: (hashMs) => hashMs + 3,
      hashesPassword: true,
      request: {
        method: 'POST',
        path: `${prefix}/v1/auth/login`,
        headers: json,
        body: loginBody,
      },
      once: (id) => call('/v1/auth/login', { method: 'POST', headers: json, body: loginBody }, id),
    },
    {
      name: 'register',
      amount: amount(60),
      hashesPassword: true,
      request: {
        method: 'POST',
        path: `${prefix}/v1/auth/register`,
        headers: json,
        // autocannon replaces [<id>] with a fresh id per request (idReplacement).
        body: JSON.stringify({ email: 'r-[<id>]@bench.example', password: USER_PASSWORD }),
      },
      once: (id) =>
        call(
          '/v1/auth/register',
          {
            method: 'POST',
            headers: json,
            body: JSON.stringify({
              email: `once-${registered++}-${Date.now()}@bench.example`,
              password: USER_PASSWORD,
            }),
          },
          id,
        ),
    },
    {
      name: 'refresh',
      amount: amount(150),
      request: {
        method: 'POST',
        path: `${prefix}/v1/auth/token`,
        headers: json,
        // Each request spends one refresh token and puts the one it gets back into the pool.
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: spare.shift() }),
        }),
        onResponse: (status, body) => {
          if (status !== 200) return;
          const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
          if (next !== undefined) spare.push(next);
        },
      },
      once: refreshOnce,
    },
    {
      name: 'JWKS',
      amount: amount(400),
      request: { method: 'GET', path: `${prefix}/.well-known/jwks.json` },
      once: (id) => call('/.well-known/jwks.json', {}, id),
    },
  ];
}
