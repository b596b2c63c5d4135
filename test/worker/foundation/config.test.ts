// Issue 2, item 3: with ENVIRONMENT=production the Worker refuses every request (503
// misconfigured, naming the setting, logged once per isolate) on each item of the production
// checklist, and never echoes a secret while doing so.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DEV_ONLY_SETTINGS, EXAMPLE_SECRET_KEY, type Env } from '../../../src/env.ts';
import worker from '../../../src/index.ts';
import { send, testEnv, type Sent, type TestEnv } from '../harness.ts';
import { requestBudget, type RequestBudget } from '../limits.ts';

/** 32 bytes, base64: a key production accepts (neither short nor the published example). */
const PRODUCTION_SECRET_KEY = 'cHJvZHVjdGlvbi10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=';
const DATABASE_PASSWORD = 'planted-database-password-7f3a';
const REDIS_TOKEN = 'planted-redis-token-91bc';
const SMTP_PASSWORD = 'planted-smtp-password-c4e2';

/** A production configuration that passes every check; each test breaks one item of it. */
const PRODUCTION: Partial<TestEnv> = {
  ENVIRONMENT: 'production',
  PUBLIC_BASE_URL: 'https://auth.example.com',
  SECRET_KEY: PRODUCTION_SECRET_KEY,
  DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@db.example.com/gatehouse?sslmode=require`,
  UPSTASH_REDIS_REST_URL: 'https://redis.example.com',
  UPSTASH_REDIS_REST_TOKEN: REDIS_TOKEN,
  BACKUP_PASSPHRASE: 'production test backup passphrase',
  SMTP_URL: `smtps://mailer:${SMTP_PASSWORD}@smtp.example.com:465`,
  MAIL_FROM: 'Gatehouse <no-reply@example.com>',
  COOKIE_SECURE: 'true',
  CORS_ORIGINS: 'https://app.example.com',
  DEFAULT_TENANT: '',
  BASE_PATH: '',
  // The test bindings point at the local Neon endpoint: development-only switches, unset here.
  DEV_NEON_HTTP_ENDPOINT: undefined,
  DEV_NEON_WS_PROXY: undefined,
  DEV_SOCIAL_BASE_URL: undefined,
};

interface Refusal {
  name: string;
  override: Partial<TestEnv>;
  setting: string;
}

const SHORT_KEY = btoa('x'.repeat(31)); // 31 bytes once decoded

const REFUSALS: Refusal[] = [
  {
    name: 'PUBLIC_BASE_URL is http://',
    override: { PUBLIC_BASE_URL: 'http://auth.example.com' },
    setting: 'PUBLIC_BASE_URL',
  },
  { name: 'SECRET_KEY is missing', override: { SECRET_KEY: undefined }, setting: 'SECRET_KEY' },
  { name: 'SECRET_KEY is empty', override: { SECRET_KEY: '' }, setting: 'SECRET_KEY' },
  {
    name: 'SECRET_KEY decodes to 31 bytes',
    override: { SECRET_KEY: SHORT_KEY },
    setting: 'SECRET_KEY',
  },
  {
    name: 'SECRET_KEY is the published example',
    override: { SECRET_KEY: EXAMPLE_SECRET_KEY },
    setting: 'SECRET_KEY',
  },
  { name: 'COOKIE_SECURE=false', override: { COOKIE_SECURE: 'false' }, setting: 'COOKIE_SECURE' },
  { name: 'COOKIE_SECURE=0', override: { COOKIE_SECURE: '0' }, setting: 'COOKIE_SECURE' },
  { name: 'CORS_ORIGINS is *', override: { CORS_ORIGINS: '*' }, setting: 'CORS_ORIGINS' },
  {
    name: 'CORS_ORIGINS lists * among exact origins',
    override: { CORS_ORIGINS: 'https://app.example.com, *' },
    setting: 'CORS_ORIGINS',
  },
  {
    name: 'UPSTASH_REDIS_REST_URL is missing',
    override: { UPSTASH_REDIS_REST_URL: undefined },
    setting: 'UPSTASH_REDIS_REST_URL',
  },
  {
    name: 'UPSTASH_REDIS_REST_URL is http://',
    override: { UPSTASH_REDIS_REST_URL: 'http://redis.example.com' },
    setting: 'UPSTASH_REDIS_REST_URL',
  },
  {
    name: 'UPSTASH_REDIS_REST_TOKEN is missing',
    override: { UPSTASH_REDIS_REST_TOKEN: undefined },
    setting: 'UPSTASH_REDIS_REST_TOKEN',
  },
  {
    name: 'UPSTASH_REDIS_REST_TOKEN is blank',
    override: { UPSTASH_REDIS_REST_TOKEN: '  ' },
    setting: 'UPSTASH_REDIS_REST_TOKEN',
  },
  {
    // wrangler.toml binds BACKUP_QUEUE, as the test bindings do.
    name: 'BACKUP_PASSPHRASE is missing while BACKUP_QUEUE is bound',
    override: { BACKUP_PASSPHRASE: undefined },
    setting: 'BACKUP_PASSPHRASE',
  },
  {
    name: 'BACKUP_PASSPHRASE has 15 characters',
    override: { BACKUP_PASSPHRASE: 'fifteen-chars-x' },
    setting: 'BACKUP_PASSPHRASE',
  },
  {
    name: 'OPERATOR_PASSWORD_MIN_LENGTH lowers the minimum to 11',
    override: { OPERATOR_PASSWORD_MIN_LENGTH: '11' },
    setting: 'OPERATOR_PASSWORD_MIN_LENGTH',
  },
  {
    name: 'OPERATOR_PASSWORD_MIN_LENGTH is 257, above the longest password accepted',
    override: { OPERATOR_PASSWORD_MIN_LENGTH: '257' },
    setting: 'OPERATOR_PASSWORD_MIN_LENGTH',
  },
  // The queue is bound (wrangler.toml): mail needs a server to go through.
  { name: 'SMTP_URL is missing', override: { SMTP_URL: undefined }, setting: 'SMTP_URL' },
  {
    name: 'SMTP_URL is plaintext to a remote host',
    override: { SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@smtp.example.com:2525?tls=none` },
    setting: 'SMTP_URL',
  },
  {
    name: 'SMTP_URL is plaintext even to loopback',
    override: { SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@127.0.0.1:2525?tls=none` },
    setting: 'SMTP_URL',
  },
  {
    name: 'SMTP_URL is not an SMTP URL',
    override: { SMTP_URL: `https://mailer:${SMTP_PASSWORD}@smtp.example.com` },
    setting: 'SMTP_URL',
  },
  { name: 'MAIL_FROM is missing', override: { MAIL_FROM: undefined }, setting: 'MAIL_FROM' },
  {
    name: 'MAIL_FROM carries a line break',
    override: { MAIL_FROM: 'Gatehouse\r\nBcc: victim@example.com <no-reply@example.com>' },
    setting: 'MAIL_FROM',
  },
  // Issue 16, item 5: a database across a network is reached over TLS (src/lib/database-url.ts).
  {
    name: 'DATABASE_URL to a remote host has no sslmode',
    override: {
      DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@db.example.com/gatehouse`,
    },
    setting: 'DATABASE_URL',
  },
  {
    name: 'DATABASE_URL to a remote host has sslmode=prefer (falls back to cleartext)',
    override: {
      DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@db.example.com/gatehouse?sslmode=prefer`,
    },
    setting: 'DATABASE_URL',
  },
  ...DEV_ONLY_SETTINGS.map((name) => ({
    name: `development-only switch ${name} is set`,
    override: { [name]: 'http://127.0.0.1:1' },
    setting: name,
  })),
];

const MISCONFIGURED_LOG = 'refusing to serve: configuration is invalid';

interface LogLine {
  level: string;
  message: string;
  problems?: { setting: string; message: string }[];
}

function parseLogs(logs: string[]): LogLine[] {
  return logs.map((line) => JSON.parse(line) as LogLine);
}

/** Every secret of the bindings used, which no body or log line may contain. */
function secretsOf(bindings: Partial<TestEnv>): string[] {
  return [
    bindings.SECRET_KEY,
    bindings.BACKUP_PASSPHRASE,
    DATABASE_PASSWORD,
    REDIS_TOKEN,
    SMTP_PASSWORD,
  ].filter((value): value is string => value !== undefined && value !== '');
}

function expectNoSecrets(text: string, bindings: Partial<TestEnv>): void {
  for (const secret of secretsOf(bindings)) expect(text).not.toContain(secret);
}

describe('production configuration refusals', () => {
  it('serves /health with a valid production configuration', async () => {
    const sent = await send('/health', {}, { env: PRODUCTION });
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toEqual({ status: 'ok' });
    expect(sent.response.headers.get('Strict-Transport-Security')).toContain('max-age=');
    expect(parseLogs(sent.logs).map((line) => line.message)).not.toContain(MISCONFIGURED_LOG);
  });

  for (const refusal of REFUSALS) {
    it(`answers 503 misconfigured naming ${refusal.setting} when ${refusal.name}`, async () => {
      const bindings = { ...PRODUCTION, ...refusal.override };
      const sent = await send('/health', {}, { env: bindings });
      expect(sent.response.status).toBe(503);
      const body = await sent.json<{ error: string; error_description: string }>();
      expect(body.error).toBe('misconfigured');
      expect(body.error_description).toContain(refusal.setting);

      const refusals = parseLogs(sent.logs).filter((line) => line.message === MISCONFIGURED_LOG);
      expect(refusals).toHaveLength(1);
      expect(refusals[0]?.level).toBe('error');
      // The setting is named (a derived setting may be named too: RP_ORIGIN follows the base URL).
      expect(refusals[0]?.problems?.map((problem) => problem.setting)).toContain(refusal.setting);

      expectNoSecrets(JSON.stringify(body), bindings);
      expectNoSecrets(sent.logs.join('\n'), bindings);
    });
  }

  it('refuses every route, not only /health', async () => {
    const bindings = { ...PRODUCTION, COOKIE_SECURE: 'false' };
    for (const [path, init] of [
      ['/health/ready', {}],
      ['/v1/nothing', { method: 'POST', body: '{}' }],
    ] as const) {
      const sent = await send(path, init, { env: bindings });
      expect(sent.response.status, path).toBe(503);
      expect(await sent.json(), path).toMatchObject({ error: 'misconfigured' });
      // Refused before the database is reached.
      expect(sent.subrequests, path).toBe(0);
    }
  });

  it('does not apply the production checklist outside production', async () => {
    const sent = await send(
      '/health',
      {},
      { env: { ENVIRONMENT: 'development', COOKIE_SECURE: 'false' } },
    );
    expect(sent.response.status).toBe(200);
  });

  it('accepts a backup passphrase of exactly 16 characters and a raised operator minimum', async () => {
    const sent = await send(
      '/health',
      {},
      {
        env: {
          ...PRODUCTION,
          BACKUP_PASSPHRASE: 'sixteen-chars-xy',
          OPERATOR_PASSWORD_MIN_LENGTH: '20',
        },
      },
    );
    expect(sent.response.status).toBe(200);
  });

  it('accepts DATABASE_URL with verify-full remotely, and without sslmode on loopback', async () => {
    for (const url of [
      `postgres://gatehouse:${DATABASE_PASSWORD}@db.example.com/gatehouse?sslmode=verify-full`,
      `postgres://gatehouse:${DATABASE_PASSWORD}@127.0.0.1:5432/gatehouse`,
      `postgres://gatehouse:${DATABASE_PASSWORD}@[::1]:5432/gatehouse`,
      `postgres://gatehouse:${DATABASE_PASSWORD}@localhost/gatehouse`,
    ]) {
      const sent = await send('/health', {}, { env: { ...PRODUCTION, DATABASE_URL: url } });
      expect(sent.response.status, url).toBe(200);
    }
  });

  it('refuses a lowered operator password minimum outside production too', async () => {
    const sent = await send(
      '/health',
      {},
      { env: { ENVIRONMENT: 'development', OPERATOR_PASSWORD_MIN_LENGTH: '8' } },
    );
    expect(sent.response.status).toBe(503);
    expect(await sent.json()).toMatchObject({ error: 'misconfigured' });
  });

  it('logs the misconfiguration once per isolate, not once per request', async () => {
    // One env object, as one isolate sees its bindings: validated once, reported once.
    const bindings = { ...testEnv, ...PRODUCTION, CORS_ORIGINS: '*' } as Env;
    const first = await dispatch(bindings);
    const second = await dispatch(bindings);
    for (const sent of [first, second]) expect(sent.response.status).toBe(503);
    const count = (sent: Dispatched): number =>
      parseLogs(sent.logs).filter((line) => line.message === MISCONFIGURED_LOG).length;
    expect(count(first)).toBe(1);
    expect(count(second)).toBe(0);
    // Each refused request still gets its own request line.
    expect(parseLogs(second.logs).map((line) => line.message)).toContain('request');
  });
});

type Dispatched = Pick<Sent, 'response' | 'logs'>;

/**
 * The Worker's fetch with exactly this env object (`send` spreads a fresh one per request, which
 * is right everywhere but here, where the per-isolate cache is what is under test).
 */
async function dispatch(bindings: Env): Promise<Dispatched> {
  const budget: RequestBudget = { subrequests: 0, calls: [], logs: [] };
  const ctx = createExecutionContext();
  const response = await requestBudget.run(budget, async () => {
    const request = new Request('https://gatehouse.test/health');
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
