// Issue 2, item 3: `npm run check-config -- --env-file <file>` runs the Worker's validation before
// a deploy. Each test runs the real command (Node 24, as npm scripts do) against temporary files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseEnvFile,
  parseWranglerBindings,
  parseWranglerVars,
} from '../../scripts/lib/env-file.ts';
import { DEV_ONLY_SETTINGS, EXAMPLE_SECRET_KEY } from '../../src/env.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const SCRIPT = join(ROOT, 'scripts', 'check-config.ts');

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-check-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 32 random-looking bytes, base64: accepted in production. */
const SECRET_KEY = 'cHJvZHVjdGlvbi10ZXN0LWtleS0zMi1ieXRlcyEhISE=';
const DATABASE_PASSWORD = 'planted-db-password-5d1e';
const REDIS_TOKEN = 'planted-redis-token-0a8c';
const SMTP_PASSWORD = 'planted-smtp-password-77e1';

const PRODUCTION: Record<string, string> = {
  ENVIRONMENT: 'production',
  PUBLIC_BASE_URL: 'https://auth.example.com',
  SECRET_KEY,
  DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@ep-test.example.com/gatehouse?sslmode=require`,
  UPSTASH_REDIS_REST_URL: 'https://redis.example.com',
  UPSTASH_REDIS_REST_TOKEN: REDIS_TOKEN,
  COOKIE_SECURE: 'true',
  CORS_ORIGINS: 'https://app.example.com',
};

let fileCount = 0;
function writeEnvFile(settings: Record<string, string | undefined>): string {
  const lines = Object.entries(settings)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}="${value}"`);
  const path = join(dir, `env-${fileCount++}`);
  writeFileSync(path, `# written by check-config.test.ts\n${lines.join('\n')}\n`);
  return path;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function checkConfig(...args: string[]): Run {
  const result = spawnSync(NODE, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `SETTING: message` lines, by setting. */
function namedSettings(run: Run): string[] {
  return run.stderr
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*): /.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

function expectNoSecrets(run: Run, extra: string[] = []): void {
  for (const secret of [SECRET_KEY, DATABASE_PASSWORD, REDIS_TOKEN, SMTP_PASSWORD, ...extra]) {
    expect(run.stdout + run.stderr).not.toContain(secret);
  }
}

describe('npm run check-config', () => {
  it('passes a good production file with exit 0 and one OK line', () => {
    const run = checkConfig('--env-file', writeEnvFile(PRODUCTION), '--no-wrangler');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^OK: .*ENVIRONMENT=production/);
    expectNoSecrets(run);
  });

  const SHORT_KEY = Buffer.alloc(31, 7).toString('base64');
  const refusals: [string, Record<string, string | undefined>, string][] = [
    [
      'PUBLIC_BASE_URL is http://',
      { PUBLIC_BASE_URL: 'http://auth.example.com' },
      'PUBLIC_BASE_URL',
    ],
    ['SECRET_KEY is missing', { SECRET_KEY: undefined }, 'SECRET_KEY'],
    ['SECRET_KEY decodes to 31 bytes', { SECRET_KEY: SHORT_KEY }, 'SECRET_KEY'],
    ['SECRET_KEY is the published example', { SECRET_KEY: EXAMPLE_SECRET_KEY }, 'SECRET_KEY'],
    ['COOKIE_SECURE=false', { COOKIE_SECURE: 'false' }, 'COOKIE_SECURE'],
    ['CORS_ORIGINS contains *', { CORS_ORIGINS: 'https://app.example.com,*' }, 'CORS_ORIGINS'],
    [
      'UPSTASH_REDIS_REST_URL is missing',
      { UPSTASH_REDIS_REST_URL: undefined },
      'UPSTASH_REDIS_REST_URL',
    ],
    [
      'UPSTASH_REDIS_REST_URL is http://',
      { UPSTASH_REDIS_REST_URL: 'http://redis.example.com' },
      'UPSTASH_REDIS_REST_URL',
    ],
    [
      'UPSTASH_REDIS_REST_TOKEN is missing',
      { UPSTASH_REDIS_REST_TOKEN: undefined },
      'UPSTASH_REDIS_REST_TOKEN',
    ],
    [
      'BACKUP_PASSPHRASE has 15 characters',
      { BACKUP_PASSPHRASE: 'fifteen-chars-x' },
      'BACKUP_PASSPHRASE',
    ],
    [
      'OPERATOR_PASSWORD_MIN_LENGTH lowers the minimum to 11',
      { OPERATOR_PASSWORD_MIN_LENGTH: '11' },
      'OPERATOR_PASSWORD_MIN_LENGTH',
    ],
    // Issue 16, item 5: a database across a network is reached over TLS.
    [
      'DATABASE_URL to a remote host has no sslmode',
      { DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@ep-test.example.com/gatehouse` },
      'DATABASE_URL',
    ],
    [
      'DATABASE_URL to a remote host has sslmode=disable',
      {
        DATABASE_URL: `postgres://gatehouse:${DATABASE_PASSWORD}@ep-test.example.com/gatehouse?sslmode=disable`,
      },
      'DATABASE_URL',
    ],
    ...DEV_ONLY_SETTINGS.map((name): [string, Record<string, string>, string] => [
      `${name} is set`,
      { [name]: 'http://127.0.0.1:4444' },
      name,
    ]),
  ];

  for (const [name, override, setting] of refusals) {
    it(`fails with exit 1 naming ${setting} when ${name}`, () => {
      const run = checkConfig(
        '--env-file',
        writeEnvFile({ ...PRODUCTION, ...override }),
        '--no-wrangler',
      );
      expect(run.status).toBe(1);
      // Named, possibly along with a setting derived from it (RP_ORIGIN from PUBLIC_BASE_URL).
      expect(namedSettings(run)).toContain(setting);
      expect(run.stdout).not.toMatch(/^OK/);
      expectNoSecrets(run, [SHORT_KEY]);
    });
  }

  it('accepts DATABASE_URL without sslmode on loopback in production, and anywhere in development', () => {
    const loopback = `postgres://gatehouse:${DATABASE_PASSWORD}@127.0.0.1:5432/gatehouse`;
    const local = checkConfig(
      '--env-file',
      writeEnvFile({ ...PRODUCTION, DATABASE_URL: loopback }),
      '--no-wrangler',
    );
    expect(local.status).toBe(0);
    const remote = `postgres://gatehouse:${DATABASE_PASSWORD}@db.example.com/gatehouse`;
    const development = checkConfig(
      '--env-file',
      writeEnvFile({ ...PRODUCTION, ENVIRONMENT: 'development', DATABASE_URL: remote }),
      '--no-wrangler',
    );
    expect(development.status).toBe(0);
    expectNoSecrets(local);
    expectNoSecrets(development);
  });

  it('lists every problem of a file at once', () => {
    const run = checkConfig(
      '--env-file',
      writeEnvFile({ ...PRODUCTION, COOKIE_SECURE: 'false', CORS_ORIGINS: '*' }),
      '--no-wrangler',
    );
    expect(run.status).toBe(1);
    expect(namedSettings(run).sort()).toEqual(['COOKIE_SECURE', 'CORS_ORIGINS']);
  });

  it('lays the file over the [vars] of a wrangler.toml, the file winning', () => {
    const wrangler = join(dir, 'wrangler.toml');
    writeFileSync(
      wrangler,
      [
        'name = "gatehouse"',
        '[vars]',
        'ENVIRONMENT = "production"',
        'PUBLIC_BASE_URL = "https://auth.example.com" # the public origin',
        "COOKIE_SECURE = 'false'",
        'UPSTASH_REDIS_REST_URL = "https://redis.example.com"',
        '[[r2_buckets]]',
        'binding = "BACKUPS"',
      ].join('\n'),
    );
    const secrets = {
      SECRET_KEY,
      DATABASE_URL: PRODUCTION.DATABASE_URL,
      UPSTASH_REDIS_REST_TOKEN: REDIS_TOKEN,
    };
    // The vars alone carry COOKIE_SECURE=false: refused, as the deployed Worker would be.
    const refused = checkConfig('--env-file', writeEnvFile(secrets), '--wrangler', wrangler);
    expect(refused.status).toBe(1);
    expect(namedSettings(refused)).toEqual(['COOKIE_SECURE']);
    // The file overrides the var.
    const fixed = writeEnvFile({ ...secrets, COOKIE_SECURE: 'true' });
    const passed = checkConfig('--env-file', fixed, '--wrangler', wrangler);
    expect(passed.status).toBe(0);
    expect(passed.stdout).toContain('wrangler.toml [vars]');
    // Without the vars, the file lacks PUBLIC_BASE_URL.
    const alone = checkConfig('--env-file', fixed, '--no-wrangler');
    expect(alone.status).toBe(1);
    expect(namedSettings(alone)).toContain('PUBLIC_BASE_URL');
  });

  it('knows BACKUP_QUEUE is bound in wrangler.toml, so a missing BACKUP_PASSPHRASE is refused', () => {
    const secrets = {
      SECRET_KEY,
      DATABASE_URL: PRODUCTION.DATABASE_URL,
      UPSTASH_REDIS_REST_TOKEN: REDIS_TOKEN,
      // wrangler.toml binds MAIL_QUEUE too, which needs a mail server.
      SMTP_URL: `smtps://mailer:${SMTP_PASSWORD}@smtp.example.com`,
    };
    // The repository's own wrangler.toml binds BACKUP_QUEUE: the deployed Worker would refuse.
    const refused = checkConfig(
      '--env-file',
      writeEnvFile(secrets),
      '--wrangler',
      join(ROOT, 'wrangler.toml'),
    );
    expect(refused.status).toBe(1);
    expect(namedSettings(refused)).toEqual(['BACKUP_PASSPHRASE']);
    const passphrase = 'a deployment backup passphrase';
    const passed = checkConfig(
      '--env-file',
      writeEnvFile({ ...secrets, BACKUP_PASSPHRASE: passphrase }),
      '--wrangler',
      join(ROOT, 'wrangler.toml'),
    );
    expect(passed.status).toBe(0);
    expectNoSecrets(passed, [passphrase]);
    // Without the queue binding the passphrase is optional, as in the Worker.
    expect(checkConfig('--env-file', writeEnvFile(PRODUCTION), '--no-wrangler').status).toBe(0);
  });

  it('accepts a raised OPERATOR_PASSWORD_MIN_LENGTH and refuses one above 256', () => {
    const raised = writeEnvFile({ ...PRODUCTION, OPERATOR_PASSWORD_MIN_LENGTH: '16' });
    expect(checkConfig('--env-file', raised, '--no-wrangler').status).toBe(0);
    const tooLong = writeEnvFile({ ...PRODUCTION, OPERATOR_PASSWORD_MIN_LENGTH: '257' });
    const run = checkConfig('--env-file', tooLong, '--no-wrangler');
    expect(run.status).toBe(1);
    expect(namedSettings(run)).toEqual(['OPERATOR_PASSWORD_MIN_LENGTH']);
  });

  it('needs SMTP_URL (TLS) and MAIL_FROM when the wrangler.toml binds MAIL_QUEUE', () => {
    const wrangler = join(dir, 'wrangler-mail.toml');
    writeFileSync(
      wrangler,
      [
        'name = "gatehouse"',
        '[vars]',
        'MAIL_FROM = "Gatehouse <no-reply@example.com>"',
        '[[queues.producers]]',
        'binding = "MAIL_QUEUE"',
        'queue = "gatehouse-mail"',
      ].join('\n'),
    );
    const missing = checkConfig('--env-file', writeEnvFile(PRODUCTION), '--wrangler', wrangler);
    expect(missing.status).toBe(1);
    expect(namedSettings(missing)).toEqual(['SMTP_URL']);
    const plain = checkConfig(
      '--env-file',
      writeEnvFile({
        ...PRODUCTION,
        SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@smtp.example.com:2525?tls=none`,
      }),
      '--wrangler',
      wrangler,
    );
    expect(plain.status).toBe(1);
    expect(namedSettings(plain)).toEqual(['SMTP_URL']);
    expectNoSecrets(plain);
    const good = checkConfig(
      '--env-file',
      writeEnvFile({ ...PRODUCTION, SMTP_URL: `smtps://mailer:${SMTP_PASSWORD}@smtp.example.com` }),
      '--wrangler',
      wrangler,
    );
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    expectNoSecrets(good);
  });

  it('refuses the development example file once ENVIRONMENT is production', () => {
    const run = checkConfig(
      '--env-file',
      join(ROOT, '.dev.vars.example'),
      '--env-file',
      writeEnvFile({ ENVIRONMENT: 'production', DATABASE_URL: PRODUCTION.DATABASE_URL }),
      '--no-wrangler',
    );
    expect(run.status).toBe(1);
    expect(namedSettings(run)).toEqual(
      expect.arrayContaining(['SECRET_KEY', 'PUBLIC_BASE_URL', 'COOKIE_SECURE']),
    );
    expectNoSecrets(run, [EXAMPLE_SECRET_KEY]);
  });

  it('exits 2 with usage on a missing --env-file, an unknown option or a malformed file', () => {
    expect(checkConfig().status).toBe(2);
    expect(checkConfig('--env-file', writeEnvFile(PRODUCTION), '--verbose').status).toBe(2);
    const malformed = join(dir, 'malformed');
    writeFileSync(malformed, `SECRET_KEY="${SECRET_KEY}\n`);
    const run = checkConfig('--env-file', malformed, '--no-wrangler');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(':1: unterminated');
    expectNoSecrets(run);
  });

  it('exits non-zero when the file does not exist', () => {
    // Node itself reads a script argument named --env-file (nodejs/node#54232) and exits 9.
    const run = checkConfig('--env-file', join(dir, 'does-not-exist'), '--no-wrangler');
    expect(run.status).not.toBe(0);
  });
});

describe('the development example file', () => {
  it('carries EXAMPLE_SECRET_KEY, the value production refuses', () => {
    const example = parseEnvFile(readFileSync(join(ROOT, '.dev.vars.example'), 'utf8'));
    expect(example.SECRET_KEY).toBe(EXAMPLE_SECRET_KEY);
  });
});

describe('env-file parsing', () => {
  it('reads comments, export, quotes, escapes and inline comments', () => {
    const parsed = parseEnvFile(
      [
        '# a comment',
        '',
        'PLAIN=value # trailing comment',
        'export EXPORTED=yes',
        'SPACED = padded ',
        'DOUBLE="two\\nlines # not a comment"',
        "SINGLE='lit\\eral # kept'",
        'EMPTY=',
        'HASH=a#b',
        'EQUALS=a=b=c',
      ].join('\r\n'),
    );
    expect(parsed).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'padded',
      DOUBLE: 'two\nlines # not a comment',
      SINGLE: 'lit\\eral # kept',
      EMPTY: '',
      HASH: 'a#b',
      EQUALS: 'a=b=c',
    });
  });

  it('names the line of an error, never its content', () => {
    expect(() => parseEnvFile('OK=1\nnot a setting line', 'f')).toThrow('f:2: expected KEY=VALUE');
    expect(() => parseEnvFile('1BAD=x', 'f')).toThrow('f:1: not a valid setting name');
    expect(() => parseEnvFile('K="secret" trailing', 'f')).toThrow(/^f:1: unexpected text/);
  });

  it('reads the queue and R2 binding names of wrangler.toml', () => {
    const names = parseWranglerBindings(
      [
        '[vars]',
        'binding = "NOT_A_BINDING"',
        '[[r2_buckets]]',
        'binding = "BACKUPS"',
        '[[queues.producers]] # sends',
        "binding = 'BACKUP_QUEUE'",
        '[[queues.consumers]]',
        'queue = "gatehouse-backups"',
      ].join('\n'),
    );
    expect(names).toEqual(['BACKUPS', 'BACKUP_QUEUE']);
  });

  it('reads only string entries of the top-level [vars] table of wrangler.toml', () => {
    const vars = parseWranglerVars(
      [
        'name = "x"',
        '[vars] # plain-text bindings',
        'A = "one"',
        "B = 'two'",
        'C = "say \\"hi\\""',
        'N = 3',
        '[env.staging.vars]',
        'A = "staging"',
      ].join('\n'),
    );
    expect(vars).toEqual({ A: 'one', B: 'two', C: 'say "hi"' });
  });
});
