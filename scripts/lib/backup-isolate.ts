// Runs the CLI's tenant export or import (the Worker's own backup code) in a fresh V8 isolate, a
// worker_threads Worker whose heap is capped like a Worker's: a job that needs more dies with
// ERR_WORKER_OUT_OF_MEMORY, and the caller's promise rejects saying so. The isolate samples its
// own heap while it works and reports the peaks. Used by scripts/bench-backup.ts and by
// test/node/backup-memory.test.ts.
//
// The Neon endpoint in front of a local Postgres runs in the caller's thread, not in the capped
// isolate: a deployed Worker reaches Neon's proxy over the network and holds only the driver.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackupConfig } from '../commands/tenant-backup.ts';

export interface IsolateLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
}

/**
 * 128 MB in all, as Workers give an isolate (developers.cloudflare.com/workers/platform/limits).
 * V8 caps a heap in two budgets that add up to its heap_size_limit. The young generation is three
 * semi-spaces and V8 rounds a semi-space up to a power of two (asked for 16 MB, it takes 24), so
 * 12 MB (4 MB semi-spaces) is a young size it keeps as given; the old generation gets the other
 * 116 MB, and heap_size_limit inside the isolate reads exactly 128 MB. A smaller young generation
 * would only mean more scavenges. ArrayBuffer contents (external memory) and V8's own
 * mallocs are outside both budgets: callers hold them against the 128 MB with the heap.
 */
export const WORKER_ISOLATE_LIMITS: IsolateLimits = {
  maxOldGenerationSizeMb: 116,
  maxYoungGenerationSizeMb: 12,
};

const WORKER_ENTRY = fileURLToPath(new URL('./backup-isolate-worker.ts', import.meta.url).href);

export type BackupJob =
  | { kind: 'export'; slug: string; output: string; passphrase: string }
  | { kind: 'import'; input: string; passphrase: string; slug?: string };

export type BackupJobResult =
  | { kind: 'export'; rows: Record<string, number>; size: number }
  | { kind: 'import'; rows: Record<string, number>; tenant: { id: string; slug: string } };

/** Bytes, each the largest seen in any sample (so the peaks may come from different samples). */
export interface HeapPeaks {
  /** v8 used_heap_size: live objects and garbage not yet collected. */
  usedHeap: number;
  /** v8 total_heap_size: what the heap has reserved from the system. */
  totalHeap: number;
  /** v8 external_memory: ArrayBuffer contents and other memory V8 is told about. */
  external: number;
  /** v8 malloced_memory: V8's own allocations outside the heap (compiler zones and the like). */
  malloced: number;
  /**
   * total_heap_size + external_memory + malloced_memory in one sample: all the isolate's memory
   * V8 knows of, the figure to hold against 128 MB. Native memory Node's zlib or OpenSSL allocate
   * without telling V8 is in no figure here, only in the process's RSS.
   */
  combined: number;
}

export interface IsolateRun {
  result: BackupJobResult;
  /** The job alone: not the isolate's start, nor loading its modules. */
  seconds: number;
  /** While the isolate loaded the backup code (drizzle, the driver, the format). */
  loadPeaks: HeapPeaks;
  /** While the job ran. */
  jobPeaks: HeapPeaks;
  samples: number;
  /** v8 heap_size_limit inside the isolate: the cap as V8 applies it. */
  heapSizeLimit: number;
}

/** What the isolate receives (worker_threads' workerData). */
export interface IsolateInput {
  job: BackupJob;
  config: BackupConfig;
  sampleEveryMs: number;
}

export async function runBackupInIsolate(
  job: BackupJob,
  config: BackupConfig,
  options: { limits?: IsolateLimits; sampleEveryMs?: number } = {},
): Promise<IsolateRun> {
  const limits = options.limits ?? WORKER_ISOLATE_LIMITS;
  const input: IsolateInput = { job, config, sampleEveryMs: options.sampleEveryMs ?? 20 };
  const worker = new Worker(WORKER_ENTRY, {
    workerData: input,
    resourceLimits: limits,
    // The parent's flags are not the isolate's business (and V8 flags are refused here).
    execArgv: [],
  });
  return new Promise<IsolateRun>((resolve, reject) => {
    let output: IsolateRun | undefined;
    worker.once('message', (message: IsolateRun) => (output = message));
    worker.once('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const total = limits.maxOldGenerationSizeMb + limits.maxYoungGenerationSizeMb;
        reject(
          new Error(`the ${job.kind} ran out of its ${total} MB isolate (${error.code})`, {
            cause: error,
          }),
        );
      } else {
        reject(error);
      }
    });
    worker.once('exit', (code) => {
      if (output !== undefined) resolve(output);
      // After an 'error', this rejection is a no-op.
      else reject(new Error(`the ${job.kind} isolate exited with ${code} and no result`));
    });
  });
}
