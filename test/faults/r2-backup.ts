// Issue 11, fault suite: R2 failing part-way through a scheduled backup. The failure is reported
// (the message is retried, the log names r2), no object appears under the backup's name, the
// tenant's data is untouched, and the retry against a healthy R2 stores the archive.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../src/env.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from '../../src/lib/pbkdf2.ts';
import { handleBackupBatch, type BackupMessage } from '../../src/features/backup/scheduled.ts';
import { backupKey, listBackups } from '../../src/features/backup/storage.ts';
import { requestBudget } from '../worker/limits.ts';
import {
  PASSPHRASE,
  dumpTenant,
  makeFilledTenant,
  pinnedSalt,
} from '../worker/backup/export-import-fixtures.ts';
import { SKIP_REASON, record, timed } from './helpers.ts';

const bucket = (env as Env).BACKUPS!;
/**
 * R2, not the passphrase KDF, is under test: one iteration instead of 600,000 (~15 s in local
 * workerd) keeps the suite inside its time budget. These archives are never opened.
 */
const kdf: Pbkdf2SHA256 = (password, salt, options) =>
  pbkdf2SHA256(password, salt, { ...options, iterations: 1 });
const backupEnv = { ...(env as Env), BACKUP_PASSPHRASE: PASSPHRASE };

/** R2 that takes the first part of an upload and refuses the rest. */
function failingBucket(): { bucket: R2Bucket; aborted: () => boolean } {
  let aborted = false;
  const failing = {
    list: bucket.list.bind(bucket),
    head: bucket.head.bind(bucket),
    delete: bucket.delete.bind(bucket),
    createMultipartUpload: async (key: string, options?: R2MultipartOptions) => {
      const upload = await bucket.createMultipartUpload(key, options);
      return {
        uploadPart: async (part: number, value: Uint8Array) => {
          if (part > 1) throw new Error('We encountered an internal error. Please try again.');
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
  return { bucket: failing, aborted: () => aborted };
}

/** Small parts make the failing upload reach its second part; R2 refuses them on complete. */
async function runBatch(message: BackupMessage, bucketInUse: R2Bucket, partSize?: number) {
  const batch = createMessageBatch<BackupMessage>('gatehouse-backups', [
    { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: message },
  ]);
  const ctx = createExecutionContext();
  const budget = { subrequests: 0, calls: [] as string[], logs: [] as string[] };
  await requestBudget.run(budget, () =>
    handleBackupBatch(
      batch,
      { ...backupEnv, BACKUPS: bucketInUse },
      { kdf, random: pinnedSalt, ...(partSize === undefined ? {} : { partSize }) },
    ),
  );
  return { result: await getQueueResult(batch, ctx), logs: budget.logs };
}

describe.skipIf(SKIP_REASON !== '')('R2 fails during a backup', () => {
  it('retries, names r2 once, leaves no object and no change; the retry stores the archive', async () => {
    const filled = await makeFilledTenant();
    const before = await dumpTenant(filled.tenant.id);
    const messageAt = (at: Date): BackupMessage => ({
      kind: 'tenant-backup',
      slug: filled.tenant.slug,
      scheduledAt: at.toISOString(),
    });
    // Yesterday's backup, taken while R2 was healthy.
    const yesterday = new Date('2026-05-31T03:17:00Z');
    const first = await runBatch(messageAt(yesterday), bucket);
    expect(first.result.explicitAcks, first.logs.join('\n')).toHaveLength(1);
    const kept = await bucket.head(backupKey(filled.tenant.slug, yesterday));
    expect(kept).not.toBeNull();

    const at = new Date('2026-06-01T03:17:00Z');
    const message = messageAt(at);

    const failing = failingBucket();
    const { result: failed, ms } = await timed(() => runBatch(message, failing.bucket, 1024));
    record('r2 failing mid-upload → reported', ms);
    expect(failed.result.retryMessages).toHaveLength(1);
    expect(failed.result.explicitAcks).toEqual([]);
    const named = failed.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.dependency !== undefined);
    expect(named.map((line) => [line.message, line.dependency])).toEqual([
      ['tenant backup failed; the queue will retry it', 'r2'],
    ]);
    expect(failing.aborted()).toBe(true);
    expect(await bucket.head(backupKey(filled.tenant.slug, at))).toBeNull();
    // Nothing lost: yesterday's archive is still there, byte for byte; the data is unchanged.
    expect((await listBackups(bucket, filled.tenant.slug)).map((b) => b.key)).toEqual([kept!.key]);
    expect((await bucket.head(kept!.key))?.etag).toBe(kept!.etag);
    expect(await dumpTenant(filled.tenant.id)).toEqual(before);
    expect(ms).toBeLessThan(5_000);

    const retried = await runBatch(message, bucket);
    expect(retried.result.explicitAcks).toHaveLength(1);
    const stored = await bucket.head(backupKey(filled.tenant.slug, at));
    expect(stored?.size ?? 0).toBeGreaterThan(1024);
  }, 120_000);
});
