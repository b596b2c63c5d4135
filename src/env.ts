import { z } from 'zod';
import { databaseURLTLSProblem } from './lib/database-url.ts';
import { decodeBase64 } from './lib/encoding.ts';
import type { RootKeys } from './lib/keys.ts';
import { parseSMTPURL, type SMTPEndpoint } from './lib/smtp-url.ts';
import { parseMailbox, type Mailbox } from './features/mail/address.ts';

/** The bindings wrangler.toml declares. Strings are vars or secrets; the rest are resources. */
export interface Env {
  ENVIRONMENT?: string;
  PUBLIC_BASE_URL?: string;
  SECRET_KEY?: string;
  /** Secret, during a rotation only: the SECRET_KEY being replaced (README, "Rotating SECRET_KEY"). */
  SECRET_KEY_PREVIOUS?: string;
  DATABASE_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  COOKIE_SECURE?: string;
  CORS_ORIGINS?: string;
  DEFAULT_TENANT?: string;
  BASE_PATH?: string;
  LOG_LEVEL?: string;
  /** Deadline of one database statement (or batch), and of all of a request's statements, in ms. */
  DATABASE_STATEMENT_TIMEOUT_MS?: string;
  DATABASE_REQUEST_TIMEOUT_MS?: string;
  /** Proxies of ours in front of Cloudflare that append to X-Forwarded-For (default 0: none). */
  TRUSTED_PROXY_HOPS?: string;
  /** WebAuthn relying party id (a host name); default: PUBLIC_BASE_URL's host. Tenants may override. */
  RP_ID?: string;
  /** The origin passkey ceremonies run on; default: PUBLIC_BASE_URL's origin. */
  RP_ORIGIN?: string;
  /** Development-only switches: any of them set refuses service in production. */
  DEV_NEON_HTTP_ENDPOINT?: string;
  DEV_NEON_WS_PROXY?: string;
  /** Google's and GitHub's endpoints under this URL instead of their hosts (tests' loopback fakes). */
  DEV_SOCIAL_BASE_URL?: string;
  /** Secret: passphrase of the scheduled backups (at least 16 characters). */
  BACKUP_PASSPHRASE?: string;
  /** Scheduled backups kept: the newest of each of the last N days, and of the last M weeks. */
  BACKUP_KEEP_DAILY?: string;
  BACKUP_KEEP_WEEKLY?: string;
  /** Operators' password minimum; may raise the floor of 12, never lower it. */
  OPERATOR_PASSWORD_MIN_LENGTH?: string;
  BACKUPS?: R2Bucket;
  /** Avatars (issue 17): content-addressed images, at most 5 MiB each. */
  AVATARS?: R2Bucket;
  BACKUP_QUEUE?: Queue<unknown>;
  /** Outgoing mail (src/features/mail): requests enqueue, the same Worker's consumer sends. */
  MAIL_QUEUE?: Queue<unknown>;
  /** Where mail that cannot be delivered goes (its consumer records `mail.failed`). */
  MAIL_DEAD_LETTER_QUEUE?: Queue<unknown>;
  /** Workers Analytics Engine dataset for request metrics (optional; Redis holds them too). */
  METRICS?: AnalyticsEngineDataset;
  /** Secret: the deployment's SMTP server, `smtps://user:pass@host:465` (src/lib/smtp-url.ts). */
  SMTP_URL?: string;
  /** The default sender, `Name <address>` or `address`; tenants may set their own. */
  MAIL_FROM?: string;
}

/**
 * The value of SECRET_KEY in `.dev.vars.example`. Published, so never a real secret: production
 * refuses it. A test keeps the example file and this constant in step.
 */
export const EXAMPLE_SECRET_KEY = 'Z2F0ZWhvdXNlLWV4YW1wbGUta2V5LWRvLW5vdC11c2UtaW4tcHJvZA';

/** 256 bits: the HKDF input must carry at least the strength of the AES-256 keys derived from it. */
export const MIN_SECRET_KEY_BYTES = 32;

/** bkp1's minimum (docs/backup-format.md). */
export const MIN_BACKUP_PASSPHRASE_LENGTH = 16;
/** A week of dailies and a month of weeklies: 11 archives per tenant at most. */
export const DEFAULT_BACKUP_KEEP_DAILY = 7;
export const DEFAULT_BACKUP_KEEP_WEEKLY = 4;

/**
 * Operator passwords: 12 characters at least (an operator password guards every tenant at once;
 * above NIST SP 800-63B's 8 for user-chosen secrets), 256 at most. A deployment may raise the
 * minimum with OPERATOR_PASSWORD_MIN_LENGTH, never lower it.
 */
export const MIN_OPERATOR_PASSWORD_LENGTH = 12;
export const MAX_OPERATOR_PASSWORD_LENGTH = 256;

/**
 * Database deadlines. A statement: above a Neon cold start (a few hundred ms, rarely over 2 s),
 * far below the 20 s+ a hung database held requests. A request: a few statements' worth, so one
 * slow statement after another still ends in a 503 rather than a hang.
 */
export const DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS = 4_000;
export const DEFAULT_DATABASE_REQUEST_TIMEOUT_MS = 8_000;

export const DEV_ONLY_SETTINGS = [
  'DEV_NEON_HTTP_ENDPOINT',
  'DEV_NEON_WS_PROXY',
  'DEV_SOCIAL_BASE_URL',
] as const;

export type Environment = 'production' | 'development' | 'test';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  environment: Environment;
  publicBaseURL: URL;
  secretKey: Uint8Array;
  /** SECRET_KEY_PREVIOUS: what it sealed still opens, and the cron reseals it under secretKey. */
  secretKeyPrevious: Uint8Array | null;
  databaseURL: string;
  redis: { url: string; token: string } | null;
  cookieSecure: boolean;
  corsOrigins: string[];
  defaultTenant: string | null;
  basePath: string;
  logLevel: LogLevel;
  /** How many X-Forwarded-For entries our own proxies appended; 0: CF-Connecting-IP only. */
  trustedProxyHops: number;
  /** WebAuthn defaults for tenants that set none (src/features/passkeys/relying-party.ts). */
  webauthn: { rpID: string; rpOrigin: string };
  /** socialBaseURL: DEV_SOCIAL_BASE_URL (src/features/federation/social.ts); optional for callers that build a Config by hand. */
  dev: {
    neonHTTPEndpoint: string | null;
    neonWSProxy: string | null;
    socialBaseURL?: string | null;
  };
  backups: { passphrase: string | null; keepDaily: number; keepWeekly: number };
  /** Operators' password minimum (MIN_OPERATOR_PASSWORD_LENGTH unless raised). */
  operatorPasswordMinLength: number;
  /** Deadlines after which a request answers 503 database_unavailable (src/db/client.ts). */
  database: { statementTimeoutMs: number; requestTimeoutMs: number };
  /** The default SMTP server and sender; tenants with their own server use theirs. */
  mail: { smtp: SMTPEndpoint | null; from: Mailbox | null };
}

export interface ConfigProblem {
  setting: string;
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const booleanText = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true' || value === '1'));

const milliseconds = z
  .string()
  .regex(/^[0-9]{2,6}$/, 'must be a number of milliseconds')
  .transform(Number)
  .pipe(z.number().min(50, 'must be at least 50 ms').max(120_000, 'must be at most 120000 ms'));

const schema = z.object({
  ENVIRONMENT: z.enum(['production', 'development', 'test']).default('production'),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }),
  SECRET_KEY: z.string().min(1),
  SECRET_KEY_PREVIOUS: optionalText,
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  UPSTASH_REDIS_REST_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  UPSTASH_REDIS_REST_TOKEN: optionalText,
  COOKIE_SECURE: booleanText,
  CORS_ORIGINS: optionalText,
  DEFAULT_TENANT: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,49}$/)
      .optional(),
  ),
  BASE_PATH: optionalText.pipe(
    z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must look like /auth (no trailing slash)')
      .optional(),
  ),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  TRUSTED_PROXY_HOPS: optionalText.pipe(
    z
      .string()
      .regex(/^[0-9]$/, 'must be a number of proxies, 0 to 9')
      .optional(),
  ),
  RP_ID: optionalText.pipe(
    z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/,
        'must be a lower-case host name (no scheme, no port)',
      )
      .optional(),
  ),
  RP_ORIGIN: optionalText,
  BACKUP_PASSPHRASE: optionalText,
  BACKUP_KEEP_DAILY: optionalText.pipe(
    z
      .string()
      .regex(/^[0-9]{1,3}$/, 'must be a number of backups')
      .optional(),
  ),
  BACKUP_KEEP_WEEKLY: optionalText.pipe(
    z
      .string()
      .regex(/^[0-9]{1,3}$/, 'must be a number of backups')
      .optional(),
  ),
  OPERATOR_PASSWORD_MIN_LENGTH: optionalText.pipe(
    z
      .string()
      .regex(/^[0-9]{1,4}$/, 'must be a number of characters')
      .optional(),
  ),
  DATABASE_STATEMENT_TIMEOUT_MS: optionalText.pipe(milliseconds.optional()),
  DATABASE_REQUEST_TIMEOUT_MS: optionalText.pipe(milliseconds.optional()),
  DEV_NEON_HTTP_ENDPOINT: optionalText,
  DEV_NEON_WS_PROXY: optionalText,
  DEV_SOCIAL_BASE_URL: optionalText,
  SMTP_URL: optionalText,
  MAIL_FROM: optionalText,
});

/**
 * Validates the bindings. Basic validity applies everywhere; with ENVIRONMENT=production the
 * production checklist applies too. Messages name the setting, never its value.
 */
export function validateEnv(env: Record<string, unknown>): ConfigResult {
  const parsed = schema.safeParse(stringsOnly(env));
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({
        setting: String(issue.path[0] ?? 'environment'),
        message: issue.message,
      })),
    };
  }
  const raw = parsed.data;
  const problems: ConfigProblem[] = [];
  const isProduction = raw.ENVIRONMENT === 'production';

  const secretKey = readSecretKey('SECRET_KEY', raw.SECRET_KEY, problems);
  const secretKeyPrevious =
    raw.SECRET_KEY_PREVIOUS === undefined
      ? null
      : readSecretKey('SECRET_KEY_PREVIOUS', raw.SECRET_KEY_PREVIOUS, problems);
  // The same key twice would make a rotation that reseals nothing and looks finished.
  if (
    secretKeyPrevious !== null &&
    secretKey.length > 0 &&
    secretKey.length === secretKeyPrevious.length &&
    secretKey.every((byte, i) => byte === secretKeyPrevious[i])
  ) {
    problems.push({ setting: 'SECRET_KEY_PREVIOUS', message: 'must differ from SECRET_KEY' });
  }

  const corsOrigins = (raw.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !isOrigin(origin)) {
      problems.push({ setting: 'CORS_ORIGINS', message: 'each entry must be an exact origin' });
    }
  }

  // Everywhere, not only in production: a lowered minimum is never what a deployment meant.
  const operatorPasswordMinLength = Number(
    raw.OPERATOR_PASSWORD_MIN_LENGTH ?? MIN_OPERATOR_PASSWORD_LENGTH,
  );
  if (operatorPasswordMinLength < MIN_OPERATOR_PASSWORD_LENGTH) {
    problems.push({
      setting: 'OPERATOR_PASSWORD_MIN_LENGTH',
      message: `may raise the minimum of ${MIN_OPERATOR_PASSWORD_LENGTH}, never lower it`,
    });
  } else if (operatorPasswordMinLength > MAX_OPERATOR_PASSWORD_LENGTH) {
    problems.push({
      setting: 'OPERATOR_PASSWORD_MIN_LENGTH',
      message: `must be at most ${MAX_OPERATOR_PASSWORD_LENGTH}, the longest password accepted`,
    });
  }

  const publicBaseURL = new URL(raw.PUBLIC_BASE_URL);
  const cookieSecure = raw.COOKIE_SECURE ?? true;

  const rpOrigin = raw.RP_ORIGIN ?? publicBaseURL.origin;
  const rpID =
    raw.RP_ID ?? (isOrigin(rpOrigin) ? new URL(rpOrigin).hostname : publicBaseURL.hostname);
  if (raw.RP_ORIGIN !== undefined && !isOrigin(raw.RP_ORIGIN)) {
    problems.push({
      setting: 'RP_ORIGIN',
      message: 'must be an exact origin such as https://example.com',
    });
  }

  const smtp = raw.SMTP_URL === undefined ? null : parseSMTPURL(raw.SMTP_URL);
  if (smtp !== null && !smtp.ok) problems.push({ setting: 'SMTP_URL', message: smtp.message });
  const mailFrom = raw.MAIL_FROM === undefined ? null : parseMailbox(raw.MAIL_FROM);
  if (raw.MAIL_FROM !== undefined && mailFrom === null) {
    problems.push({
      setting: 'MAIL_FROM',
      message: 'must be `address` or `Name <address>` (no quotes, brackets or line breaks)',
    });
  }
  if (smtp !== null && raw.MAIL_FROM === undefined) {
    problems.push({ setting: 'MAIL_FROM', message: 'is required with SMTP_URL (the sender)' });
  }

  if (isProduction) {
    // Password resets and verification links travel by mail: a deployment that queues mail and
    // has no server to send it through would accept every request and deliver nothing.
    if (env.MAIL_QUEUE !== undefined && raw.SMTP_URL === undefined) {
      problems.push({
        setting: 'SMTP_URL',
        message: 'is required in production when MAIL_QUEUE is bound (the default mail server)',
      });
    }
    if (smtp?.ok === true && smtp.endpoint.security === 'none') {
      problems.push({
        setting: 'SMTP_URL',
        message: 'must use TLS (smtps:// or smtp://) in production',
      });
    }
    const databaseProblem = databaseURLTLSProblem(raw.DATABASE_URL);
    if (databaseProblem !== null) {
      problems.push({ setting: 'DATABASE_URL', message: databaseProblem });
    }
    if (publicBaseURL.protocol !== 'https:') {
      problems.push({ setting: 'PUBLIC_BASE_URL', message: 'must be https:// in production' });
    }
    for (const setting of ['SECRET_KEY', 'SECRET_KEY_PREVIOUS'] as const) {
      if (raw[setting] === EXAMPLE_SECRET_KEY) {
        problems.push({
          setting,
          message: 'is the published example value; generate one with `openssl rand -base64 32`',
        });
      }
    }
    if (!cookieSecure) {
      problems.push({ setting: 'COOKIE_SECURE', message: 'cookies must be Secure in production' });
    }
    if (corsOrigins.includes('*')) {
      problems.push({ setting: 'CORS_ORIGINS', message: 'must not contain * in production' });
    }
    // WebAuthn binds credentials to the RP id; browsers refuse an id the origin's host is not
    // equal to or a subdomain of (W3C WebAuthn L3 §5.1.3 step 8; §5.1.4.1 step 7).
    if (isOrigin(rpOrigin) && !isHostWithin(new URL(rpOrigin).hostname, rpID)) {
      problems.push({
        setting: 'RP_ID',
        message: 'must be the host of RP_ORIGIN (or PUBLIC_BASE_URL) or a parent domain of it',
      });
    }
    if (isOrigin(rpOrigin) && new URL(rpOrigin).protocol !== 'https:') {
      problems.push({ setting: 'RP_ORIGIN', message: 'must be https:// in production' });
    }
    // Scheduled backups (the queue is bound) are encrypted under this passphrase: without one, or
    // with one a guess could reach, every archive in the bucket is worthless or exposed.
    if (raw.BACKUP_PASSPHRASE === undefined && env.BACKUP_QUEUE !== undefined) {
      problems.push({
        setting: 'BACKUP_PASSPHRASE',
        message: 'is required in production when backups are scheduled (BACKUP_QUEUE is bound)',
      });
    } else if (
      raw.BACKUP_PASSPHRASE !== undefined &&
      [...raw.BACKUP_PASSPHRASE.normalize('NFC')].length < MIN_BACKUP_PASSPHRASE_LENGTH
    ) {
      problems.push({
        setting: 'BACKUP_PASSPHRASE',
        message: `must have at least ${MIN_BACKUP_PASSPHRASE_LENGTH} characters`,
      });
    }
    for (const name of DEV_ONLY_SETTINGS) {
      if (raw[name] !== undefined) {
        problems.push({ setting: name, message: 'is a development-only switch' });
      }
    }
    // Without Redis every credential endpoint answers 503 (the limits fail closed); over plain
    // http the token would cross the network in the clear.
    if (raw.UPSTASH_REDIS_REST_URL === undefined) {
      problems.push({
        setting: 'UPSTASH_REDIS_REST_URL',
        message: 'rate limits need Upstash Redis in production (URL and token)',
      });
    } else if (!raw.UPSTASH_REDIS_REST_URL.startsWith('https://')) {
      problems.push({
        setting: 'UPSTASH_REDIS_REST_URL',
        message: 'must be https:// in production',
      });
    }
    if (raw.UPSTASH_REDIS_REST_TOKEN === undefined) {
      problems.push({
        setting: 'UPSTASH_REDIS_REST_TOKEN',
        message: 'rate limits need Upstash Redis in production (URL and token)',
      });
    }
  }
  const statementTimeoutMs =
    raw.DATABASE_STATEMENT_TIMEOUT_MS ?? DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS;
  const requestTimeoutMs = raw.DATABASE_REQUEST_TIMEOUT_MS ?? DEFAULT_DATABASE_REQUEST_TIMEOUT_MS;
  if (requestTimeoutMs < statementTimeoutMs) {
    problems.push({
      setting: 'DATABASE_REQUEST_TIMEOUT_MS',
      message: 'must be at least DATABASE_STATEMENT_TIMEOUT_MS',
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  return {
    ok: true,
    config: {
      environment: raw.ENVIRONMENT,
      publicBaseURL,
      secretKey,
      secretKeyPrevious,
      databaseURL: raw.DATABASE_URL,
      redis:
        raw.UPSTASH_REDIS_REST_URL !== undefined && raw.UPSTASH_REDIS_REST_TOKEN !== undefined
          ? { url: raw.UPSTASH_REDIS_REST_URL, token: raw.UPSTASH_REDIS_REST_TOKEN }
          : null,
      cookieSecure,
      corsOrigins: corsOrigins.filter((origin) => origin !== '*'),
      defaultTenant: raw.DEFAULT_TENANT ?? null,
      basePath: raw.BASE_PATH ?? '',
      logLevel: raw.LOG_LEVEL,
      trustedProxyHops: Number(raw.TRUSTED_PROXY_HOPS ?? '0'),
      webauthn: { rpID, rpOrigin },
      dev: {
        neonHTTPEndpoint: raw.DEV_NEON_HTTP_ENDPOINT ?? null,
        neonWSProxy: raw.DEV_NEON_WS_PROXY ?? null,
        socialBaseURL: raw.DEV_SOCIAL_BASE_URL ?? null,
      },
      backups: {
        passphrase: raw.BACKUP_PASSPHRASE ?? null,
        keepDaily: Number(raw.BACKUP_KEEP_DAILY ?? DEFAULT_BACKUP_KEEP_DAILY),
        keepWeekly: Number(raw.BACKUP_KEEP_WEEKLY ?? DEFAULT_BACKUP_KEEP_WEEKLY),
      },
      operatorPasswordMinLength,
      database: { statementTimeoutMs, requestTimeoutMs },
      mail: { smtp: smtp?.ok === true ? smtp.endpoint : null, from: mailFrom },
    },
  };
}

/** The root secrets of a validated config, as the sealing helpers take them. */
export function rootKeysOf(config: Pick<Config, 'secretKey' | 'secretKeyPrevious'>): RootKeys {
  return { current: config.secretKey, previous: config.secretKeyPrevious };
}

/** A root secret: base64 or base64url of at least MIN_SECRET_KEY_BYTES bytes. */
function readSecretKey(setting: string, text: string, problems: ConfigProblem[]): Uint8Array {
  let bytes: Uint8Array = new Uint8Array();
  try {
    bytes = decodeBase64(text);
  } catch {
    problems.push({ setting, message: 'must be base64 or base64url' });
  }
  if (bytes.length > 0 && bytes.length < MIN_SECRET_KEY_BYTES) {
    problems.push({ setting, message: `must decode to at least ${MIN_SECRET_KEY_BYTES} bytes` });
  }
  return bytes;
}

export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** Whether `host` is `domain` or a subdomain of it (the WebAuthn RP id rule, without the public suffix list). */
export function isHostWithin(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

function stringsOnly(env: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
}

const cache = new WeakMap<object, ConfigResult>();

/** Validates once per isolate (per env object): a bad setting refuses every request until fixed. */
export function loadConfig(env: Env): ConfigResult {
  let result = cache.get(env);
  if (result === undefined) {
    result = validateEnv(env as Record<string, unknown>);
    cache.set(env, result);
  }
  return result;
}
