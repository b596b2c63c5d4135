// Scheduled backups: the daily cron enqueues one message per tenant (a page at a time, see
// enqueueBackups); the queue consumer exports that tenant to R2 with BACKUP_PASSPHRASE and prunes
// its older backups per retention.
import { sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client.ts';
import { failedDependency } from '../../dependencies.ts';
import type { Random } from '../../deps.ts';
import { loadConfig, type Config, type Env } from '../../env.ts';
import type { Pbkdf2SHA256 } from '../../lib/pbkdf2.ts';
import { createLogger } from '../../log.ts';
import { startExport } from './export.ts';
import { backupKey, pruneBackups, uploadArchive } from './storage.ts';

/** The cron expression of the daily backup in wrangler.toml's [triggers]; keep them in step. */
export const BACKUP_CRON = '17 3 * * *';

export interface BackupMessage {
  kind: 'tenant-backup';
  slug: string;
  /** The cron tick's time: names the object, so a retried message rewrites the same key. */
  scheduledAt: string;
}

/** The rest of the tenants, after `after` in slug order: enqueued by the consumer in turn. */
export interface EnqueueMessage {
  kind: 'enqueue-backups';
  after: string;
  scheduledAt: string;
}

/** Queues allow 100 messages per sendBatch. */
const SEND_BATCH = 100;
/**
 * Tenants one invocation enqueues: 1 query + 40 sendBatch + 1 send of the next page stay within
 * the 50 subrequests of an invocation.
 */
export const ENQUEUE_PAGE = 40 * SEND_BATCH;

/**
 * Runs on the backup cron (and, for each further page, in the queue consumer): one message per
 * tenant whose slug follows `after`, at most `pageSize`; a full page ends with a message that
 * enqueues the next. Returns how many tenant messages this call queued.
 */
export async function enqueueBackups(
  env: Env,
  scheduledAt: Date,
  options: { after?: string | null; pageSize?: number } = {},
): Promise<number> {
  const config = requireConfig(env);
  const queue = env.BACKUP_QUEUE;
  if (queue === undefined) throw new Error('BACKUP_QUEUE is not bound');
  const pageSize = options.pageSize ?? ENQUEUE_PAGE;
  const db = createDatabase(config);
  const after = options.after ?? null;
  const result = await db.execute(
    sql`select slug from tenants where ${after}::text is null or slug > ${after} order by slug limit ${pageSize}`,
  );
  const messages = result.rows.map((row): BackupMessage => ({
    kind: 'tenant-backup',
    slug: String(row.slug),
    scheduledAt: scheduledAt.toISOString(),
  }));
  for (let i = 0; i < messages.length; i += SEND_BATCH) {
    await queue.sendBatch(messages.slice(i, i + SEND_BATCH).map((body) => ({ body })));
  }
  if (messages.length === pageSize) {
    const next: EnqueueMessage = {
      kind: 'enqueue-backups',
      after: messages[messages.length - 1]!.slug,
      scheduledAt: scheduledAt.toISOString(),
    };
    await queue.send(next);
  }
  return messages.length;
}

export interface BackupOptions {
  kdf?: Pbkdf2SHA256;
  random?: Random;
  partSize?: number;
  /** Tests: a smaller page than ENQUEUE_PAGE. */
  enqueuePageSize?: number;
}

/**
 * The queue consumer: each message is acknowledged once its archive is complete in R2, and
 * retried (with the queue's backoff and max_retries) otherwise. A tenant deleted since the tick
 * is acknowledged with nothing written.
 */
export async function handleBackupBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  options: BackupOptions = {},
): Promise<void> {
  const config = requireConfig(env);
  const log = createLogger(config.logLevel);
  for (const message of batch.messages) {
    const page = message.body as Partial<EnqueueMessage> | null;
    if (
      page?.kind === 'enqueue-backups' &&
      typeof page.after === 'string' &&
      typeof page.scheduledAt === 'string'
    ) {
      try {
        await enqueueBackups(env, new Date(page.scheduledAt), {
          after: page.after,
          ...(options.enqueuePageSize === undefined ? {} : { pageSize: options.enqueuePageSize }),
        });
        message.ack();
      } catch (error) {
        log.error('backup queue: enqueueing the next page failed; the queue will retry it', {
          after: page.after,
          error: error instanceof Error ? error.message : String(error),
        });
        message.retry();
      }
      continue;
    }
    const body = message.body as Partial<BackupMessage> | null;
    if (
      body?.kind !== 'tenant-backup' ||
      typeof body.slug !== 'string' ||
      typeof body.scheduledAt !== 'string'
    ) {
      log.warn('backup queue: dropping a message that is not a tenant backup', { id: message.id });
      message.ack();
      continue;
    }
    try {
      const stored = await backupTenant(
        config,
        env,
        body.slug,
        new Date(body.scheduledAt),
        options,
      );
      if (stored !== null) log.info('tenant backed up', { tenantSlug: body.slug, ...stored });
      message.ack();
    } catch (error) {
      log.error('tenant backup failed; the queue will retry it', {
        tenantSlug: body.slug,
        dependency: failedDependency(error) ?? undefined,
        attempts: message.attempts,
        error: error instanceof Error ? error.message : String(error),
      });
      message.retry();
    }
  }
}

/** Exports one tenant into R2 and prunes; null when the tenant no longer exists. */
export async function backupTenant(
  config: Config,
  env: Env,
  slug: string,
  scheduledAt: Date,
  options: BackupOptions = {},
): Promise<{ key: string; size: number; pruned: number } | null> {
  const bucket = env.BACKUPS;
  if (bucket === undefined) throw new Error('BACKUPS is not bound');
  const passphrase = config.backups.passphrase;
  if (passphrase === null) throw new Error('BACKUP_PASSPHRASE is not set');
  let started: Awaited<ReturnType<typeof startExport>>;
  try {
    started = await startExport({ config }, slug, passphrase, {
      now: new Date(),
      ...(options.kdf === undefined ? {} : { kdf: options.kdf }),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'unknown_tenant') return null;
    throw error;
  }
  const key = backupKey(slug, scheduledAt);
  const { size } = await uploadArchive(
    bucket,
    key,
    started.archive,
    options.partSize === undefined ? {} : { partSize: options.partSize },
  );
  await started.done;
  const pruned = await pruneBackups(bucket, slug, {
    keepDaily: config.backups.keepDaily,
    keepWeekly: config.backups.keepWeekly,
  });
  return { key, size, pruned: pruned.length };
}

function requireConfig(env: Env): Config {
  const result = loadConfig(env);
  if (!result.ok) {
    throw new Error(
      `configuration is invalid: ${result.problems.map((problem) => problem.setting).join(', ')}`,
    );
  }
  return result.config;
}
