// Issue 6, item 7, with the emulated bindings: the daily cron queues one message per tenant, the
// consumer writes `backups/{slug}/{timestamp}.bkp1` to R2 and prunes per retention, a failed
// export is retried and leaves no object, and the admin API shows the last backup and its size.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config, type Env } from '../../../src/env.ts';
import { readArchive } from '../../../src/features/backup/format.ts';
import {
  BACKUP_CRON,
  backupTenant,
  enqueueBackups,
  handleBackupBatch,
  type EnqueueMessage,
  type BackupMessage,
} from '../../../src/features/backup/scheduled.ts';
import {
  backupKey,
  backupsToPrune,
  listBackups,
  type StoredBackup,
} from '../../../src/features/backup/storage.ts';
import worker from '../../../src/index.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { testDB } from '../fixtures.ts';
import { send, withinInvocationLimits } from '../harness.ts';
import { countedBucket } from '../limits.ts';
import {
  PASSPHRASE,
  kdf,
  makeFilledTenant,
  pinnedSalt,
  type FilledTenant,
} from './export-import-fixtures.ts';

const SLOW = 180_000;
const fast = { kdf, random: pinnedSalt };
const backupEnv = {
  ...(env as Env),
  BACKUP_PASSPHRASE: PASSPHRASE,
  BACKUP_KEEP_DAILY: '3',
  BACKUP_KEEP_WEEKLY: '2',
};
const bucket = (env as Env).BACKUPS!;

function configOf(e: Env): Config {
  const result = loadConfig(e);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function batchFor(messages: BackupMessage[]): MessageBatch<BackupMessage> {
  return createMessageBatch<BackupMessage>(
    'gatehouse-backups',
    messages.map((body, i) => ({
      id: `m${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
}

/** A queue binding that keeps what is sent to it, in order. */
function recordingQueue(): { queue: Queue<unknown>; sent: unknown[] } {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => void sent.push(body),
    sendBatch: async (messages: Iterable<{ body: unknown }>) => {
      for (const message of messages) sent.push(message.body);
    },
  } as unknown as Queue<unknown>;
  return { queue, sent };
}

let filled: FilledTenant;

beforeAll(async () => {
  filled = await makeFilledTenant();
}, SLOW);

describe('the backup cron', () => {
  it('queues one message per tenant on the daily cron, none on the every-minute one', async () => {
    const { queue, sent } = recordingQueue();
    const at = new Date('2026-03-20T03:17:00Z');
    for (const cron of ['* * * * *', BACKUP_CRON]) {
      const ctx = createExecutionContext();
      // One tick, waitUntil work included, within the subrequest limit of an invocation.
      await withinInvocationLimits(async () => {
        await worker.scheduled(
          createScheduledController({ cron, scheduledTime: at }),
          { ...backupEnv, BACKUP_QUEUE: queue },
          ctx,
        );
        await waitOnExecutionContext(ctx);
      });
      if (cron !== BACKUP_CRON) expect(sent).toEqual([]);
    }
    expect(sent).toContainEqual({
      kind: 'tenant-backup',
      slug: filled.tenant.slug,
      scheduledAt: at.toISOString(),
    });
    const slugs = sent.map((body) => (body as BackupMessage).slug);
    expect(new Set(slugs).size).toBe(slugs.length);
  });
});

describe('enqueueing many tenants', () => {
  it('goes a page at a time, each page enqueueing the next through the queue, every tenant once', async () => {
    const { queue, sent } = recordingQueue();
    const pagedEnv = { ...backupEnv, BACKUP_QUEUE: queue };
    const at = new Date('2026-03-22T03:17:00Z');
    // Other suites add and delete tenants meanwhile: hold to the ones that exist throughout.
    const slugsNow = async () =>
      (await testDB().execute(sql`select slug from tenants order by slug`)).rows.map((row) =>
        String(row.slug),
      );
    const before = await slugsNow();
    // About four pages, however many tenants the other suites have made so far.
    const PAGE = Math.max(1, Math.ceil(before.length / 4));
    const { subrequests } = await withinInvocationLimits(() =>
      enqueueBackups(pagedEnv, at, { pageSize: PAGE }),
    );
    expect(subrequests).toBeLessThanOrEqual(2); // the query; the queue here is not a binding
    let pages = 1;
    for (;;) {
      const next = sent.filter(
        (body): body is EnqueueMessage => (body as EnqueueMessage).kind === 'enqueue-backups',
      );
      const pending = next.slice(pages - 1);
      if (pending.length === 0) break;
      expect(pending).toHaveLength(1);
      pages += 1;
      expect(pages).toBeLessThan(100);
      const batch = createMessageBatch<unknown>('gatehouse-backups', [
        { id: `page-${pages}`, timestamp: new Date(), attempts: 1, body: pending[0] },
      ]);
      const ctx = createExecutionContext();
      await handleBackupBatch(batch, pagedEnv, { enqueuePageSize: PAGE });
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([`page-${pages}`]);
    }
    const slugs = sent
      .filter((body) => (body as BackupMessage).kind === 'tenant-backup')
      .map((body) => (body as BackupMessage).slug);
    // Each once, and every tenant that existed throughout is there.
    expect(new Set(slugs).size).toBe(slugs.length);
    const after = new Set(await slugsNow());
    const throughout = before.filter((slug) => after.has(slug));
    expect(throughout.filter((slug) => !slugs.includes(slug))).toEqual([]);
    expect(pages).toBeGreaterThanOrEqual(Math.max(2, Math.ceil(throughout.length / PAGE)));
  });
});

describe('the backup queue consumer', () => {
  it(
    'writes the archive under backups/{slug}/{timestamp}.bkp1 and acknowledges the message',
    async () => {
      const at = new Date('2026-03-21T03:17:00Z');
      const batch = batchFor([
        { kind: 'tenant-backup', slug: filled.tenant.slug, scheduledAt: at.toISOString() },
      ]);
      const ctx = createExecutionContext();
      const { subrequests } = await withinInvocationLimits(() =>
        handleBackupBatch(batch, { ...backupEnv, BACKUPS: countedBucket(bucket) }, fast),
      );
      // The database connection and the R2 calls are counted (and stay within the limit).
      expect(subrequests).toBeGreaterThanOrEqual(3);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
      expect(result.retryMessages).toEqual([]);
      const object = await bucket.get(backupKey(filled.tenant.slug, at));
      expect(object).not.toBeNull();
      const bytes = new Uint8Array(await object!.arrayBuffer());
      const archive = await readArchive(bytes, PASSPHRASE, { kdf });
      expect(archive.metadata.tenantSlug).toBe(filled.tenant.slug);
      expect(archive.records.find((record) => record.table === 'users')?.row.id).toBe(
        filled.userId,
      );
    },
    SLOW,
  );

  it('is the Worker queue handler: a message for a tenant deleted since the tick is acknowledged, nothing written', async () => {
    const batch = batchFor([
      { kind: 'tenant-backup', slug: 'no-such-tenant-x', scheduledAt: new Date().toISOString() },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, backupEnv, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(await listBackups(bucket, 'no-such-tenant-x')).toEqual([]);
  });

  it(
    'retries a failed export and leaves no object under the backup name',
    async () => {
      const at = new Date('2026-03-22T03:17:00Z');
      let aborted = false;
      // R2 takes the first part, then fails: the upload must be aborted, never completed.
      const failing = {
        ...bucket,
        list: bucket.list.bind(bucket),
        createMultipartUpload: async (key: string, options?: R2MultipartOptions) => {
          const upload = await bucket.createMultipartUpload(key, options);
          return {
            uploadPart: async (part: number, value: Uint8Array) => {
              if (part > 1) throw new Error('R2 is unavailable');
              return upload.uploadPart(part, value);
            },
            abort: async () => {
              aborted = true;
              await upload.abort();
            },
            complete: (parts: R2UploadedPart[]) => upload.complete(parts),
          };
        },
      } as unknown as R2Bucket;
      const batch = batchFor([
        { kind: 'tenant-backup', slug: filled.tenant.slug, scheduledAt: at.toISOString() },
      ]);
      const ctx = createExecutionContext();
      await handleBackupBatch(
        batch,
        { ...backupEnv, BACKUPS: failing },
        { ...fast, partSize: 1024 },
      );
      const result = await getQueueResult(batch, ctx);
      expect(result.retryMessages.map((message) => message.msgId)).toEqual([batch.messages[0]!.id]);
      expect(result.explicitAcks).toEqual([]);
      expect(aborted).toBe(true);
      expect(await bucket.head(backupKey(filled.tenant.slug, at))).toBeNull();
    },
    SLOW,
  );
});

describe('retention', () => {
  it(
    'keeps the newest of the last 3 days and of the last 2 weeks, deleting the rest',
    async () => {
      const config = configOf(backupEnv);
      // Sunday 1 March to Friday 20 March 2026, one backup a day.
      for (let day = 1; day <= 20; day++) {
        const at = new Date(Date.UTC(2026, 2, day, 3, 17));
        await backupTenant(config, backupEnv, filled.tenant.slug, at, fast);
      }
      // 21 and 22 March come from the tests above; retention ran after each backup.
      const kept = (await listBackups(bucket, filled.tenant.slug)).map((backup) =>
        backup.takenAt.toISOString().slice(0, 10),
      );
      expect(kept).toEqual(['2026-03-21', '2026-03-20', '2026-03-19', '2026-03-15']);
    },
    SLOW,
  );

  it('never prunes the newest backup, and keeps only the newest of a day', () => {
    const backup = (iso: string): StoredBackup => ({
      key: iso,
      slug: 's',
      takenAt: new Date(iso),
      size: 1,
    });
    const all = [
      backup('2026-03-20T03:00:00Z'),
      backup('2026-03-20T09:00:00Z'),
      backup('2026-03-19T03:00:00Z'),
    ];
    expect(backupsToPrune(all, { keepDaily: 0, keepWeekly: 0 }).map((b) => b.key)).toEqual([
      '2026-03-20T03:00:00Z',
      '2026-03-19T03:00:00Z',
    ]);
    expect(backupsToPrune(all, { keepDaily: 2, keepWeekly: 0 }).map((b) => b.key)).toEqual([
      '2026-03-20T03:00:00Z',
    ]);
  });
});

describe('the admin API', () => {
  it('shows each tenant’s last successful backup and its size', async () => {
    const operator = await makeOperator();
    const { key } = await makeKey(operator, { scopes: ['backups:export'] });
    const newest = (await listBackups(bucket, filled.tenant.slug))[0]!;
    const sent = await send(`${ADMIN}/tenants/${filled.tenant.slug}/backups`, {
      headers: bearer(key),
    });
    expect(sent.response.status).toBe(200);
    const body = await sent.json<{
      last_backup: { key: string; size: number; taken_at: string };
    }>();
    expect(body.last_backup).toEqual({
      key: newest.key,
      size: newest.size,
      taken_at: newest.takenAt.toISOString(),
    });
    expect(body.last_backup.size).toBe((await bucket.head(newest.key))!.size);
    const all = await send(`${ADMIN}/backups`, { headers: bearer(key) });
    const tenants = (
      await all.json<{ tenants: { slug: string; last_backup: { key: string } }[] }>()
    ).tenants;
    expect(tenants.find((tenant) => tenant.slug === filled.tenant.slug)?.last_backup.key).toBe(
      newest.key,
    );
  });
});
