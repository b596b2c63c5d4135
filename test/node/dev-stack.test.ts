// `npm run dev` end to end: the one-command stack comes up, the Worker answers /health/ready
// with 200 through the Neon endpoint and PGlite, and SIGTERM takes every process down with it.
// Runs in a temporary data directory on a free port, so the repository's .data is untouched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/postgres.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const READY_WITHIN_MS = 60_000;

// Issue 3's smoke test, command for command; `echo --` only separates the outputs.
const SMOKE_TEST = `
curl -X POST $BASE/v1/auth/register -H 'Content-Type: application/json' \\
  -d '{"email":"smoke@example.com","password":"smoke-test-password","organization_name":"Smoke"}' -c c.txt
echo; echo --
curl $BASE/v1/auth/session -b c.txt                      # 200
echo; echo --
curl -X POST $BASE/v1/auth/logout -b c.txt -c c.txt
echo; echo --
curl -i $BASE/v1/auth/session -b c.txt                   # 401
`;

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describe.skipIf(process.platform === 'win32')('npm run dev', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-test-'));
  const hadDevVars = existsSync(join(ROOT, '.dev.vars'));
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /health/ready with 200 within 60 s, then stops every process it started on SIGTERM', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      GATEHOUSE_DEV_DATA_DIR: dataDir,
    };
    delete env.DATABASE_URL; // the embedded PGlite path, as on a fresh clone
    // Its own process group: afterwards the group must be empty (wrangler, workerd, redis-server).
    child = spawn(process.execPath, ['scripts/dev.ts'], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid!;
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child!.once('exit', (code) => done(code)));

    const started = Date.now();
    let status = 0;
    let body: unknown;
    while (Date.now() - started < READY_WITHIN_MS && child.exitCode === null) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`, {
          signal: AbortSignal.timeout(2_000),
        });
        status = response.status;
        body = await response.json();
        if (status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status, `no 200 from /health/ready within 60 s; output:\n${output}`).toBe(200);
    expect(body).toMatchObject({ status: 'ready' });

    // The production checklist's smoke test, verbatim, against the default tenant.
    const smoke = spawnSync('bash', ['-euo', 'pipefail', '-c', SMOKE_TEST], {
      cwd: dataDir,
      env: { ...process.env, BASE: `http://127.0.0.1:${port}` },
      encoding: 'utf8',
    });
    expect(smoke.status, `smoke test failed:\n${smoke.stdout}\n${smoke.stderr}`).toBe(0);
    const [registered, session, , afterLogout] = smoke.stdout.split('\n--\n');
    expect(JSON.parse(registered!)).toMatchObject({ user: { email: 'smoke@example.com' } });
    expect(JSON.parse(session!)).toMatchObject({ user: { email: 'smoke@example.com' } });
    expect(afterLogout).toMatch(/^HTTP\/1\.1 401/);

    await sendMailThroughDevStack(`http://127.0.0.1:${port}`, output, dataDir);
    // …and shown in the dev log: recipient, subject, where it was saved.
    expect(output).toMatch(
      /\[dev\] mail +to reader@example\.com: "Gatehouse test message" → .*\.eml/,
    );

    // State went to the data directory given, and the developer's .dev.vars was not written.
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
    expect(readFileSync(join(dataDir, 'dev.vars'), 'utf8')).toMatch(/^UPSTASH_REDIS_REST_TOKEN=/m);
    expect(existsSync(join(ROOT, '.dev.vars'))).toBe(hadDevVars);

    process.kill(pid, 'SIGTERM');
    expect(await exited, `dev.ts exit code; output:\n${output}`).toBe(0);
    expect(await waitFor(() => !groupAlive(pid), 5_000), 'processes left in the group').toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(output).toMatch(/\[dev\] stopped/);
  }, 120_000);
});

/**
 * Mail through the running stack, offline: a first owner (bootstrap code from the CLI, against
 * the stack's PGlite), then the admin test-mail endpoint for the default tenant. The Worker
 * speaks SMTP over connect() to the local server, which saves the message under mail/ and logs
 * its subject.
 */
async function sendMailThroughDevStack(
  base: string,
  output: string,
  dataDir: string,
): Promise<void> {
  const pglite = /PGlite on ([\d.]+):(\d+)/.exec(output);
  expect(pglite, `no PGlite address in the output:\n${output}`).not.toBeNull();
  const cli = spawnSync(process.execPath, ['scripts/cli.ts', 'bootstrap-code'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: `postgres://gatehouse@${pglite![1]}:${pglite![2]}/gatehouse`,
    },
    encoding: 'utf8',
  });
  const code = /Bootstrap code[^:]*: (\S+)/.exec(cli.stdout + cli.stderr)?.[1];
  expect(code, `no bootstrap code:\n${cli.stdout}\n${cli.stderr}`).toBeDefined();
  const email = 'op7391@example.com';
  const password = 'Quartz-Vivid-Harbor-97';
  const post = (path: string, body: unknown, cookie = '') =>
    fetch(`${base}/admin/api/v1${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Origin: base,
        ...(cookie ? { Cookie: cookie } : {}),
      },
      body: JSON.stringify(body),
    });
  const bootstrapped = await post('/bootstrap', { code, email, password });
  expect(bootstrapped.status, await bootstrapped.clone().text()).toBe(201);
  const login = await post('/auth/login', { email, password });
  expect(login.status).toBe(200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const to = 'reader@example.com';
  const sent = await post('/tenants/default/mail/test', { to }, cookie);
  const answer = (await sent.json()) as { delivered: boolean; smtp_answer: string };
  expect(sent.status).toBe(200);
  expect(answer).toMatchObject({ delivered: true });
  const mailDir = join(dataDir, 'mail');
  const saved = existsSync(mailDir)
    ? readdirSync(mailDir).filter((name) => name.endsWith('.eml') && name.includes(to))
    : [];
  // Only this one to this address (the smoke test's sign-up mails smoke@example.com as well).
  expect(saved).toHaveLength(1);
  const eml = readFileSync(join(mailDir, saved[0]!), 'utf8');
  expect(eml).toMatch(/^Subject: Gatehouse test message/m);
  expect(eml).toMatch(/^From: "Gatehouse \(dev\)" <no-reply@gatehouse\.localhost>/m);
}
