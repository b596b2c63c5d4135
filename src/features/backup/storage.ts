// Archives in R2: `backups/{slug}/{timestamp}.bkp1`, written by multipart upload so an object
// appears under a backup's name only once every byte is in, and pruned per retention.
import { DependencyUnavailableError } from '../../dependencies.ts';

export const BACKUP_PREFIX = 'backups/';
/**
 * R2's minimum part size (every part but the last), and all but the last must be equal: the
 * uploader buffers exactly one part, so memory stays at 5 MiB whatever the archive's size.
 */
export const PART_SIZE = 5 * 1024 * 1024;

export interface StoredBackup {
  key: string;
  slug: string;
  /** When the backup was taken (from its name, so retention does not depend on upload time). */
  takenAt: Date;
  size: number;
}

/** `2026-11-23T03:17:00.000Z` → `backups/acme/2026-11-23T03-17-00-000Z.bkp1`: sorts by time. */
export function backupKey(slug: string, takenAt: Date): string {
  return `${BACKUP_PREFIX}${slug}/${takenAt.toISOString().replace(/[:.]/g, '-')}.bkp1`;
}

const KEY = /^backups\/([a-z0-9][a-z0-9-]*)\/(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z\.bkp1$/;

export function parseBackupKey(key: string, size: number): StoredBackup | null {
  const match = KEY.exec(key);
  if (match === null) return null;
  const takenAt = new Date(`${match[2]}:${match[3]}:${match[4]}.${match[5]}Z`);
  return Number.isNaN(takenAt.getTime()) ? null : { key, slug: match[1]!, takenAt, size };
}

/**
 * Streams an archive into `key`. The object exists only after `complete()`; any failure (the
 * archive stream erroring, a part refused) aborts the upload, so no partial object is left.
 */
export async function uploadArchive(
  bucket: R2Bucket,
  key: string,
  archive: ReadableStream<Uint8Array>,
  options: { partSize?: number } = {},
): Promise<{ size: number }> {
  const partSize = options.partSize ?? PART_SIZE;
  const upload = await fromR2(
    bucket.createMultipartUpload(key, {
      httpMetadata: { contentType: 'application/octet-stream' },
    }),
  );
  const parts: R2UploadedPart[] = [];
  let buffer = new Uint8Array(partSize);
  let filled = 0;
  let size = 0;
  const sendPart = async (): Promise<void> => {
    parts.push(await fromR2(upload.uploadPart(parts.length + 1, buffer.subarray(0, filled))));
    buffer = new Uint8Array(partSize);
    filled = 0;
  };
  try {
    for await (const chunk of archive) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(partSize - filled, chunk.length - offset);
        buffer.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === partSize) await sendPart();
      }
      size += chunk.length;
    }
    if (filled > 0 || parts.length === 0) await sendPart();
    await fromR2(upload.complete(parts));
    return { size };
  } catch (error) {
    await upload.abort().catch(() => undefined);
    throw error;
  }
}

/** R2's own failures, told apart from the archive stream's: the log names the dependency. */
function fromR2<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw new DependencyUnavailableError('r2', 'the call failed', { cause: error });
  });
}

/** Every backup under `backups/{slug}/` (or every tenant's, without a slug), newest first. */
export async function listBackups(bucket: R2Bucket, slug?: string): Promise<StoredBackup[]> {
  const found: StoredBackup[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({
      prefix: slug === undefined ? BACKUP_PREFIX : `${BACKUP_PREFIX}${slug}/`,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const object of page.objects) {
      const backup = parseBackupKey(object.key, object.size);
      if (backup !== null) found.push(backup);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return found.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
}

export interface Retention {
  /** Keep the newest backup of each of the last N days that have one. */
  keepDaily: number;
  /** Keep the newest backup of each of the last M ISO weeks (Monday to Sunday, UTC) that have one. */
  keepWeekly: number;
}

/** Grandfather-father-son selection over one tenant's backups; the newest is always kept. */
export function backupsToPrune(backups: StoredBackup[], retention: Retention): StoredBackup[] {
  const newestFirst = [...backups].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  const keep = new Set<string>();
  if (newestFirst[0] !== undefined) keep.add(newestFirst[0].key);
  const days = new Set<string>();
  const weeks = new Set<string>();
  for (const backup of newestFirst) {
    const day = backup.takenAt.toISOString().slice(0, 10);
    if (!days.has(day) && days.size < retention.keepDaily) {
      days.add(day);
      keep.add(backup.key);
    }
    const week = weekOf(backup.takenAt);
    if (!weeks.has(week) && weeks.size < retention.keepWeekly) {
      weeks.add(week);
      keep.add(backup.key);
    }
  }
  return newestFirst.filter((backup) => !keep.has(backup.key));
}

/** The Monday (UTC) of the ISO week holding `date`. */
function weekOf(date: Date): string {
  const monday = new Date(date.getTime() - ((date.getUTCDay() + 6) % 7) * 86_400_000);
  return monday.toISOString().slice(0, 10);
}

export async function pruneBackups(
  bucket: R2Bucket,
  slug: string,
  retention: Retention,
): Promise<string[]> {
  const doomed = backupsToPrune(await listBackups(bucket, slug), retention).map(
    (backup) => backup.key,
  );
  // R2 deletes up to 1,000 keys per call.
  for (let i = 0; i < doomed.length; i += 1000) await bucket.delete(doomed.slice(i, i + 1000));
  return doomed;
}
