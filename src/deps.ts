import { createDatabase, type Database } from './db/client.ts';
import { BINDING_TIMEOUT_MS, withDeadline } from './dependencies.ts';
import { rootKeysOf, type Config, type Env } from './env.ts';
import type { Logger } from './log.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from './lib/pbkdf2.ts';
import { createPasswordHasher, type PasswordHasher } from './features/accounts/password.ts';
import { createQueueMailer } from './features/mail/mailer.ts';
import type { Mailer } from './features/mail/message.ts';
import { smtpSender, type MailSender } from './features/mail/smtp.ts';
import { createMetricsRecorder, type MetricsRecorder } from './features/metrics/recorder.ts';
import {
  createUpstashRateLimiter,
  unconfiguredRateLimiter,
  type RateLimiter,
} from './features/ratelimit/limiter.ts';

export interface Clock {
  now(): Date;
}

export interface Random {
  bytes(length: number): Uint8Array;
}

/** Everything a handler reaches outside its own memory, made per request from the bindings. */
export interface Deps {
  config: Config;
  db: Database;
  clock: Clock;
  random: Random;
  log: Logger;
  passwords: PasswordHasher;
  /** Counters shared by every isolate (Upstash Redis). */
  rateLimiter: RateLimiter;
  blobs: R2Bucket | null;
  /** User avatars (src/features/avatars); null when the binding is missing. */
  avatars: R2Bucket | null;
  /** Outgoing mail, queued for delivery off the request path (src/features/mail). */
  mail: Mailer;
  /** SMTP itself (worker-mailer over `connect()`): the queue consumer and the admin test mail. */
  mailSender: MailSender;
  /** The bkp1 passphrase KDF (PBKDF2, 600,000 iterations): tests pass a memoising one. */
  archiveKDF: Pbkdf2SHA256;
  /** This request's metrics, written once after the answer (src/features/metrics). */
  metrics: MetricsRecorder;
  waitUntil(promise: Promise<unknown>): void;
}

export const systemClock: Clock = { now: () => new Date() };

export const cryptoRandom: Random = {
  bytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
};

export interface DepsInput {
  env: Env;
  config: Config;
  log: Logger;
  waitUntil(promise: Promise<unknown>): void;
}

export function createDeps(input: DepsInput): Deps {
  return {
    config: input.config,
    db: createDatabase(input.config),
    clock: systemClock,
    random: cryptoRandom,
    log: input.log,
    passwords: createPasswordHasher(rootKeysOf(input.config)),
    rateLimiter:
      input.config.redis === null
        ? unconfiguredRateLimiter
        : createUpstashRateLimiter(input.config.redis),
    blobs: input.env.BACKUPS === undefined ? null : boundedBucket(input.env.BACKUPS),
    avatars: input.env.AVATARS === undefined ? null : boundedBucket(input.env.AVATARS),
    mail: createQueueMailer(input.env.MAIL_QUEUE ?? null, () => systemClock.now()),
    mailSender: smtpSender,
    archiveKDF: pbkdf2SHA256,
    metrics: createMetricsRecorder({
      redis: input.config.redis,
      analytics: input.env.METRICS ?? null,
      log: input.log,
    }),
    waitUntil: input.waitUntil,
  };
}

/** A test's way in: replace any dependency (a frozen clock, a failing database) for one app. */
export type DepsOverride = (deps: Deps) => Partial<Deps>;
const BOUNDED_R2_CALLS = new Set(['head', 'get', 'list', 'delete']);

/**
 * The bucket a request sees: its short calls (head, get, list, delete) run under
 * BINDING_TIMEOUT_MS, and any failure of theirs is R2's (503 storage_unavailable). Uploads are
 * not bounded here: their length depends on the archive, and storage.ts aborts a failed one.
 */
export function boundedBucket(bucket: R2Bucket, timeoutMs = BINDING_TIMEOUT_MS): R2Bucket {
  return new Proxy(bucket, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const call = (...args: unknown[]): unknown =>
        (value as (...a: unknown[]) => unknown).apply(target, args);
      if (!BOUNDED_R2_CALLS.has(property)) return call;
      return (...args: unknown[]) =>
        withDeadline('r2', timeoutMs, () => call(...args) as Promise<unknown>);
    },
  });
}
