// `npm run dev` for Node tests that need the whole service over HTTP (browsers, protocol peers,
// the doctor): started in a temporary data directory on a free port, torn down with its process
// group. Plus the first operator, through the CLI's bootstrap code, for admin API calls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/stack/postgres.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_WITHIN_MS = 90_000;

export interface DevStack {
  /** `http://127.0.0.1:{port}`: PUBLIC_BASE_URL of the running Worker. */
  base: string;
  port: number;
  dataDir: string;
  /** Everything dev.ts and wrangler printed so far. */
  output(): string;
  /** A client connection string for the stack's PGlite (for the CLI). */
  databaseURL(): string;
  stop(): Promise<void>;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Starts `scripts/dev.ts` and waits for /health/ready; throws with its output if it never is. */
export async function startDevStack(
  name: string,
  options: { env?: Record<string, string> } = {},
): Promise<DevStack> {
  const dataDir = mkdtempSync(join(tmpdir(), `gatehouse-${name}-`));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    GATEHOUSE_DEV_DATA_DIR: dataDir,
    ...options.env,
  };
  delete env.DATABASE_URL;
  const child: ChildProcess = spawn(process.execPath, ['scripts/dev.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && groupAlive(child.pid)) {
      process.kill(-child.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (groupAlive(child.pid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const started = Date.now();
  let ready = false;
  while (!ready && Date.now() - started < READY_WITHIN_MS && child.exitCode === null) {
    try {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      ready = response.status === 200;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }
  if (!ready) {
    await stop();
    throw new Error(`the dev stack did not become ready; output:\n${output}`);
  }
  return {
    base,
    port,
    dataDir,
    output: () => output,
    databaseURL() {
      const pglite = /PGlite on ([\d.]+):(\d+)/.exec(output);
      if (pglite === null) throw new Error(`no PGlite address in the output:\n${output}`);
      return `postgres://gatehouse@${pglite[1]}:${pglite[2]}/gatehouse`;
    },
    stop,
  };
}

/**
 * The first operator (bootstrap code from the CLI, then POST /admin/api/v1/bootstrap), signed in:
 * returns a fetch for the admin API carrying the operator cookie and the Origin it checks.
 */
export async function signInFirstOperator(
  stack: DevStack,
): Promise<(path: string, init?: { method?: string; body?: unknown }) => Promise<Response>> {
  const cli = spawnSync(process.execPath, ['scripts/cli.ts', 'bootstrap-code'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: stack.databaseURL() },
    encoding: 'utf8',
  });
  const code = /Bootstrap code[^:]*: (\S+)/.exec(cli.stdout + cli.stderr)?.[1];
  if (code === undefined) throw new Error(`no bootstrap code:\n${cli.stdout}\n${cli.stderr}`);
  const email = 'first-operator@example.com';
  const password = 'Quartz-Vivid-Harbor-97';
  const call = (path: string, init: { method?: string; body?: unknown } = {}, cookie = '') =>
    fetch(`${stack.base}/admin/api/v1${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        Origin: stack.base,
        ...(cookie ? { Cookie: cookie } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const bootstrapped = await call('/bootstrap', { body: { code, email, password } });
  if (bootstrapped.status !== 201) throw new Error(`bootstrap: ${await bootstrapped.text()}`);
  const login = await call('/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`operator login: ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  return (path, init = {}) => call(path, init, cookie);
}
