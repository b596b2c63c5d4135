// The deploy bundle: built the way `wrangler deploy` builds it (--dry-run, offline), its size as
// wrangler reports it, and the Worker's start-up (module compilation and evaluation) in workerd.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { ROOT } from './stack.ts';

export interface BuiltBundle {
  dir: string;
  file: string;
  /** wrangler's own "Total Upload: … KiB / gzip: … KiB" figures. */
  uploadKiB: number;
  gzipKiB: number;
  /** esbuild's metafile (`--metafile`), for the analysis. */
  metafile: string;
  remove(): void;
}

export async function buildBundle(): Promise<BuiltBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bundle-'));
  const metafile = join(dir, 'meta.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules', '.bin', 'wrangler'),
      'deploy',
      '--dry-run',
      '--outdir',
      join(dir, 'dist'),
      '--metafile',
      metafile,
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_HIDE_BANNER: 'true',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const sizes = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
  if (sizes === null) throw new Error(`no upload size in wrangler's output:\n${stdout}`);
  return {
    dir,
    file: join(dir, 'dist', 'index.js'),
    uploadKiB: Number(sizes[1]),
    gzipKiB: Number(sizes[2]),
    metafile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The largest contributors to the bundle, by package (node_modules) or feature folder (src). */
export function bundleBreakdown(metafile: string, top = 15): { source: string; kib: number }[] {
  const meta = JSON.parse(readFileSync(metafile, 'utf8')) as {
    outputs: Record<
      string,
      { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }
    >;
  };
  const output = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  const bySource = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const source = pkg ?? path.split('/').slice(0, 3).join('/');
    bySource.set(source, (bySource.get(source) ?? 0) + input.bytesInOutput);
  }
  return [...bySource]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([source, bytes]) => ({ source, kib: bytes / 1024 }));
}

/**
 * Start-up: workerd's time to become ready with the bundle, less its time with an empty module,
 * median of `runs` each (alternating, so load on the machine hits both alike). What is left is
 * the bundle's compilation and top-level evaluation. Bindings are left out: nothing reads them
 * at module scope.
 */
export async function measureStartup(
  bundleFile: string,
  runs = 5,
): Promise<{ startupMs: number; bundleMs: number; emptyMs: number }> {
  const emptyDir = mkdtempSync(join(tmpdir(), 'gatehouse-empty-'));
  const empty = join(emptyDir, 'index.js');
  writeFileSync(empty, 'export default { fetch: () => new Response("ok") };\n');
  const time = async (scriptPath: string): Promise<number> => {
    const started = performance.now();
    const mf = new Miniflare({
      workers: [
        {
          config: {
            name: 'startup',
            compatibilityDate: '2026-10-01',
            compatibilityFlags: ['nodejs_compat'],
            manifest: {
              mainModule: 'index.js',
              modules: { 'index.js': { type: 'esm', contents: readFileSync(scriptPath, 'utf8') } },
            },
          },
        },
      ],
    });
    await mf.ready;
    const elapsed = performance.now() - started;
    await mf.dispose();
    return elapsed;
  };
  const bundleTimes: number[] = [];
  const emptyTimes: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      emptyTimes.push(await time(empty));
      bundleTimes.push(await time(bundleFile));
    }
  } finally {
    rmSync(emptyDir, { recursive: true, force: true });
  }
  const median = (values: number[]): number =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const bundleMs = median(bundleTimes);
  const emptyMs = median(emptyTimes);
  return { startupMs: Math.max(0, bundleMs - emptyMs), bundleMs, emptyMs };
}

/** gzip of the bundle by zlib at level 9 (a cross-check of wrangler's figure). */
export function gzipKiBOf(file: string): number {
  return gzipSync(readFileSync(file), { level: 9 }).length / 1024;
}
