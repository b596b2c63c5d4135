// The inside of scripts/lib/backup-isolate.ts: runs one export or import with the CLI's functions
// (the Worker's backup code, on the Worker's drivers), sampling this isolate's heap, and posts the
// result and the peaks to the parent. Errors, out-of-memory included, reach the parent as the
// Worker's 'error' event.
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { BackupJobResult, HeapPeaks, IsolateInput, IsolateRun } from './backup-isolate.ts';

const { job, config, sampleEveryMs } = workerData as IsolateInput;

function emptyPeaks(): HeapPeaks {
  return { usedHeap: 0, totalHeap: 0, external: 0, malloced: 0, combined: 0 };
}

let peaks = emptyPeaks();
let samples = 0;
function sample(): void {
  const heap = getHeapStatistics();
  samples += 1;
  peaks.usedHeap = Math.max(peaks.usedHeap, heap.used_heap_size);
  peaks.totalHeap = Math.max(peaks.totalHeap, heap.total_heap_size);
  peaks.external = Math.max(peaks.external, heap.external_memory);
  peaks.malloced = Math.max(peaks.malloced, heap.malloced_memory);
  peaks.combined = Math.max(
    peaks.combined,
    heap.total_heap_size + heap.external_memory + heap.malloced_memory,
  );
}

// A timer samples only between turns of the event loop; a peak inside one synchronous stretch can
// fall between samples, which is why the isolate is capped rather than trusted to these figures.
const timer = setInterval(sample, sampleEveryMs);
sample();
// Imported here rather than at the top so that loading them is sampled (and capped) too.
const { createDatabase } = await import('../../src/db/client.ts');
const { exportTenantToFile, importTenantFromFile } = await import('../commands/tenant-backup.ts');
sample();
const loadPeaks = peaks;
peaks = emptyPeaks();

const opened = { config, db: createDatabase(config), close: async () => undefined };
const started = performance.now();
sample();
let result: BackupJobResult;
if (job.kind === 'export') {
  const exported = await exportTenantToFile(opened, job.slug, job.passphrase, job.output);
  result = { kind: 'export', ...exported };
} else {
  const imported = await importTenantFromFile(opened, job.input, job.passphrase, {
    ...(job.slug === undefined ? {} : { slug: job.slug }),
  });
  result = {
    kind: 'import',
    rows: imported.rows,
    tenant: { id: imported.tenant.id, slug: imported.tenant.slug },
  };
}
const seconds = (performance.now() - started) / 1000;
sample();
clearInterval(timer);

const output: IsolateRun = {
  result,
  seconds,
  loadPeaks,
  jobPeaks: peaks,
  samples,
  heapSizeLimit: getHeapStatistics().heap_size_limit,
};
parentPort!.postMessage(output);
