// `npm run dev` end to end: the one-command stack comes up, the Worker answers /health/ready
// with 200 through the Neon endpoint and PGlite, and SIGTERM takes every process down with it.
// Runs in a temporary data directory on a free port, so the repository's .data is untouched.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  adminPost,
  bootstrapOperator,
  groupAlive,
  startDevStack,
  waitFor,
  type DevStack,
} from './dev-stack-helpers.ts';

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

describe.skipIf(process.platform === 'win32')('npm run dev', () => {
  const hadDevVars = existsSync(join(ROOT, '.dev.vars'));
  let stack: DevStack | undefined;

  afterAll(() => stack?.cleanup());

  it('serves /health/ready with 200 within 60 s, then stops every process it started on SIGTERM', async () => {
    stack = await startDevStack();
    const { port, pid, dataDir, exited } = stack;
    const output = stack.output();
    expect(stack.readyStatus, `no 200 from /health/ready within 60 s; output:\n${output}`).toBe(
      200,
    );
    expect(stack.readyBody).toMatchObject({ status: 'ready' });

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

    await sendMailThroughDevStack(stack);
    // …and shown in the dev log: recipient, subject, where it was saved.
    expect(stack.output()).toMatch(
      /\[dev\] mail +to reader@example\.com: "Gatehouse test message" → .*\.eml/,
    );

    // State went to the data directory given, and the developer's .dev.vars was not written.
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);
    expect(readFileSync(join(dataDir, 'dev.vars'), 'utf8')).toMatch(/^UPSTASH_REDIS_REST_TOKEN=/m);
    expect(existsSync(join(ROOT, '.dev.vars'))).toBe(hadDevVars);

    process.kill(pid, 'SIGTERM');
    expect(await exited, `dev.ts exit code; output:\n${stack.output()}`).toBe(0);
    expect(await waitFor(() => !groupAlive(pid), 5_000), 'processes left in the group').toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(stack.output()).toMatch(/\[dev\] stopped/);
  }, 120_000);
});

/**
 * Mail through the running stack, offline: a first owner (bootstrap code from the CLI, against
 * the stack's PGlite), then the admin test-mail endpoint for the default tenant. The Worker
 * speaks SMTP over connect() to the local server, which saves the message under mail/ and logs
 * its subject.
 */
async function sendMailThroughDevStack(stack: DevStack): Promise<void> {
  const cookie = await bootstrapOperator(stack);
  const to = 'reader@example.com';
  const sent = await adminPost(stack, '/tenants/default/mail/test', { to }, cookie);
  const answer = (await sent.json()) as { delivered: boolean; smtp_answer: string };
  expect(sent.status).toBe(200);
  expect(answer).toMatchObject({ delivered: true });
  const mailDir = join(stack.dataDir, 'mail');
  const saved = existsSync(mailDir)
    ? readdirSync(mailDir).filter((name) => name.endsWith('.eml') && name.includes(to))
    : [];
  // Only this one to this address (the smoke test's sign-up mails smoke@example.com as well).
  expect(saved).toHaveLength(1);
  const eml = readFileSync(join(mailDir, saved[0]!), 'utf8');
  expect(eml).toMatch(/^Subject: Gatehouse test message/m);
  expect(eml).toMatch(/^From: "Gatehouse \(dev\)" <no-reply@gatehouse\.localhost>/m);
}
