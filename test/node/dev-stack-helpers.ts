// Starting `npm run dev` from a Node test, and a first operator on it: shared by dev-stack.test.ts
// and doctor.test.ts. Each stack runs in its own temporary data directory on a free port, in its
// own process group (so a test can prove, or make sure, that nothing is left behind).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/stack/postgres.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const READY_WITHIN_MS = 60_000;

/** True while any process of the group `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

export interface DevStack {
  port: number;
  base: string;
  dataDir: string;
  child: ChildProcess;
  pid: number;
  /** Everything the stack printed so far. */
  output(): string;
  exited: Promise<number | null>;
  /** The last /health/ready answer while waiting (200 when the stack came up in time). */
  readyStatus: number;
  readyBody: unknown;
  /** SIGKILLs the group if still alive and removes the data directory. */
  cleanup(): void;
}

/**
 * Spawns scripts/dev.ts on the embedded PGlite (as on a fresh clone) and waits up to
 * READY_WITHIN_MS (the dev-stack test's promise) for /health/ready to answer 200. Tests that only
 * need a stack, not that promise, wait longer: they start beside other stacks and browsers.
 */
export async function startDevStack(options: { readyWithinMs?: number } = {}): Promise<DevStack> {
  // The port is picked free and handed to wrangler seconds later; another stack starting at the
  // same moment can take it first. That stack start is retried on a new port (twice at most).
  for (let attempt = 1; ; attempt++) {
    const stack = await startDevStackOnce(options);
    const lostPort = stack.readyStatus !== 200 && /Address already in use/.test(stack.output());
    if (!lostPort || attempt === 3) return stack;
    stack.cleanup();
  }
}

async function startDevStackOnce(options: { readyWithinMs?: number }): Promise<DevStack> {
  const readyWithinMs = options.readyWithinMs ?? READY_WITHIN_MS;
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-test-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    GATEHOUSE_DEV_DATA_DIR: dataDir,
  };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['scripts/dev.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  let readyStatus = 0;
  let readyBody: unknown;
  while (Date.now() - started < readyWithinMs && child.exitCode === null) {
    try {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      readyStatus = response.status;
      readyBody = await response.json();
      if (readyStatus === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const pid = child.pid!;
  return {
    port,
    base,
    dataDir,
    child,
    pid,
    output: () => output,
    exited,
    readyStatus,
    readyBody,
    cleanup() {
      if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const OPERATOR = { email: 'op7391@example.com', password: 'Quartz-Vivid-Harbor-97' };

/**
 * The first owner of the stack (bootstrap code from the CLI, against the stack's PGlite), signed
 * in: its session cookie, good for admin API calls with `Origin: base`.
 */
export async function bootstrapOperator(stack: DevStack): Promise<string> {
  const pglite = /PGlite on ([\d.]+):(\d+)/.exec(stack.output());
  if (pglite === null) throw new Error(`no PGlite address in the output:\n${stack.output()}`);
  const cli = spawnSync(process.execPath, ['scripts/cli.ts', 'bootstrap-code'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: `postgres://gatehouse@${pglite[1]}:${pglite[2]}/gatehouse`,
    },
    encoding: 'utf8',
  });
  const code = /Bootstrap code[^:]*: (\S+)/.exec(cli.stdout + cli.stderr)?.[1];
  if (code === undefined) throw new Error(`no bootstrap code:\n${cli.stdout}\n${cli.stderr}`);
  const bootstrapped = await adminPost(stack, '/bootstrap', { code, ...OPERATOR });
  if (bootstrapped.status !== 201)
    throw new Error(`bootstrap answered ${bootstrapped.status}: ${await bootstrapped.text()}`);
  const login = await adminPost(stack, '/auth/login', OPERATOR);
  if (login.status !== 200) throw new Error(`operator login answered ${login.status}`);
  return (login.headers.get('set-cookie') ?? '').split(';')[0]!;
}

export function adminPost(
  stack: DevStack,
  path: string,
  body: unknown,
  cookie = '',
): Promise<Response> {
  return fetch(`${stack.base}/admin/api/v1${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Origin: stack.base,
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: JSON.stringify(body),
  });
}
