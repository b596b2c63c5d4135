// Scheduled backups: the daily cron enqueues one message per tenant; the queue consumer exports
// that tenant to R2 with BACKUP_PASSPHRASE and prunes its older backups per retention.
import { sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client.ts';
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

/** Queues allow 100 messages per sendBatch. */
const SEND_BATCH = 100;

/** Runs on the backup cron: one message per tenant. Returns how many were queued. */
export async function enqueueBackups(env: Env, scheduledAt: Date): Promise<number> {
  const config = requireConfig(env);
  const queue = env.BACKUP_QUEUE;
  if (queue === undefined) throw new Error('BACKUP_QUEUE is not bound');
  const db = createDatabase(config);
  const result = await db.execute(sql`select slug from tenants order by slug`);
  const messages = result.rows.map((row): BackupMessage => ({
    kind: 'tenant-backup',
    slug: String(row.slug),
    scheduledAt: scheduledAt.toISOString(),
  }));
  for (let i = 0; i < messages.length; i += SEND_BATCH) {
    await queue.sendBatch(messages.slice(i, i + SEND_BATCH).map((body) => ({ body })));
  }
  return messages.length;
}

export interface BackupOptions {
  kdf?: Pbkdf2SHA256;
  random?: Random;
  partSize?: number;
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
