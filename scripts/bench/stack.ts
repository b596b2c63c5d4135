// The benchmark's stack: `npm run dev` (scripts/dev.ts) in a temporary data directory on a free
// port, against a real PostgreSQL when its binaries are installed (else the dev stack's PGlite),
// with a first operator bootstrapped through the CLI and the admin API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findPostgresBinaries,
  freePort,
  startPostgres,
  type PostgresServer,
} from '../stack/postgres.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchStack {
  base: string;
  /** The Neon HTTP endpoint's origin: GET /__roundtrips/<request id> counts SQL round trips. */
  neonOrigin: string;
  /** The process group of `npm run dev` (wrangler and workerd are inside it). */
  pid: number;
  database: 'postgresql' | 'pglite';
  /** The CLI's DATABASE_URL. */
  cliDatabaseURL: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startBenchStack(options: {
  readyWithinMs: number;
  /** wrangler dev without minify (wrangler.toml's minify = true): names in a CPU profile. */
  unminified?: boolean;
}): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  let postgres: PostgresServer | null = null;
  let child: ChildProcess | null = null;
  const stop = async (): Promise<void> => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const exited = await Promise.race([
        new Promise<boolean>((done) => child!.once('exit', () => done(true))),
        new Promise<boolean>((done) => setTimeout(() => done(false), 10_000)),
      ]);
      if (!exited) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(await freePort()),
      GATEHOUSE_DEV_DATA_DIR: join(dataDir, 'dev'),
    };
    delete env.DATABASE_URL;
    if (options.unminified) env.GATEHOUSE_DEV_NO_MINIFY = '1';
    let cliDatabaseURL = '';
    if (findPostgresBinaries() !== null) {
      // Its own temporary directory (an unprivileged postgres user must be able to enter it).
      postgres = await startPostgres();
      await postgres.createDatabase('gatehouse_bench');
      env.DATABASE_URL = cliDatabaseURL = postgres.url('gatehouse_bench');
    }
    const spawned = spawn(process.execPath, ['scripts/dev.ts'], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    let output = '';
    spawned.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    spawned.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${env.PORT}`;
    const started = Date.now();
    let ready = false;
    while (Date.now() - started < options.readyWithinMs && spawned.exitCode === null) {
      try {
        const response = await fetch(`${base}/health/ready`, {
          signal: AbortSignal.timeout(2_000),
        });
        await response.body?.cancel();
        if (response.status === 200) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((done) => setTimeout(done, 250));
    }
    if (!ready) throw new Error(`the dev stack did not become ready:\n${output.slice(-4000)}`);
    const neon = /Neon\s+(http:\/\/[\d.]+:\d+)\/sql/.exec(output);
    if (neon === null) throw new Error(`no Neon endpoint in the dev stack's output:\n${output}`);
    if (postgres === null) {
      const pglite = /PGlite on ([\d.]+):(\d+)/.exec(output);
      if (pglite === null) throw new Error(`no PGlite address in the output:\n${output}`);
      cliDatabaseURL = `postgres://gatehouse@${pglite[1]}:${pglite[2]}/gatehouse`;
    }
    return {
      base,
      neonOrigin: neon[1]!,
      pid: spawned.pid!,
      database: postgres === null ? 'pglite' : 'postgresql',
      cliDatabaseURL,
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A throwaway operator: bootstrap code from the CLI, then signed in. Returns its cookie. */
export async function bootstrapOperator(
  stack: BenchStack,
  operator: { email: string; password: string },
): Promise<string> {
  const cli = spawnSync(process.execPath, ['scripts/cli.ts', 'bootstrap-code'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: stack.cliDatabaseURL },
    encoding: 'utf8',
  });
  const code = /Bootstrap code[^:]*: (\S+)/.exec(cli.stdout + cli.stderr)?.[1];
  if (code === undefined) throw new Error(`no bootstrap code:\n${cli.stdout}\n${cli.stderr}`);
  const bootstrapped = await adminCall(stack, 'POST', '/bootstrap', { code, ...operator });
  if (bootstrapped.status !== 201)
    throw new Error(`bootstrap answered ${bootstrapped.status}: ${await bootstrapped.text()}`);
  const login = await adminCall(stack, 'POST', '/auth/login', operator);
  if (login.status !== 200) throw new Error(`operator login answered ${login.status}`);
  return (login.headers.get('set-cookie') ?? '').split(';')[0]!;
}

export function adminCall(
  stack: BenchStack,
  method: string,
  path: string,
  body: unknown,
  cookie = '',
): Promise<Response> {
  return fetch(`${stack.base}/admin/api/v1${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      Origin: stack.base,
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** SQL round trips the Worker made for one request id (counted at the Neon HTTP endpoint). */
export async function roundTripsOf(stack: BenchStack, requestId: string): Promise<number> {
  const response = await fetch(`${stack.neonOrigin}/__roundtrips/${encodeURIComponent(requestId)}`);
  const body = (await response.json()) as { round_trips: number };
  return body.round_trips;
}
