// Issue 11, item 6: a browser test fails in CI (CI=true) when Chromium is missing instead of
// skipping, and outside CI it skips. Runs each browser test file in a child Vitest with
// GATEHOUSE_CHROMIUM pointing at a file that does not exist (no browser or Worker starts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MISSING = join(ROOT, 'node_modules', '.gatehouse-no-such-chromium');

function runBrowserTest(file: string, ci: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_CHROMIUM: MISSING };
  delete env.CI;
  delete env.VITEST;
  if (ci !== undefined) env.CI = ci;
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'vitest'),
    ['run', '--project', 'node', file, '--reporter=verbose'],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

// The passkey ceremony, the hosted pages (axe, CSP), the SPA across origins and federation between
// two tenants are browser tests.
describe.each([
  'test/node/passkeys-browser.test.ts',
  'test/node/pages-browser.test.ts',
  'test/node/spa-cross-site.test.ts',
  'test/node/federation-browser.test.ts',
])('the browser test %s without Chromium', (file) => {
  it('fails under CI=true, naming the missing browser', () => {
    const run = runBrowserTest(file, 'true');
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(`${MISSING} is missing and CI=true`);
  });

  it('skips outside CI', () => {
    const run = runBrowserTest(file, undefined);
    expect(run.status).toBe(0);
    expect(run.output).toMatch(/skipped: .* is missing/);
  });
});
