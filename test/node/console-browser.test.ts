// The admin console in Chromium, on `npm run dev` from a fresh data folder: the first-run lines
// (bootstrap code and console URL) that the dev stack prints, the first owner created on the
// console's first-run page with that code, then an operator signs in, creates a tenant, creates a
// user, disables them, reads the audit log (and verifies its chain), downloads a backup, and signs
// out. Every page passes axe-core with no serious or critical violation, an inline script and
// style added through the DOM are refused by the CSP, and the whole path works from the keyboard's
// order of landmarks. The README's screenshots (docs/console/*.png) are taken here
// when GATEHOUSE_WRITE_SCREENSHOTS=1 (else into a temporary folder).
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, CHROMIUM, IN_CI, tryInline } from './browser-helpers.ts';
import { ROOT, startDevStack, waitFor, type DevStack } from './dev-stack-helpers.ts';

/**
 * The committed screenshots are rewritten only on request (GATEHOUSE_WRITE_SCREENSHOTS=1), so an
 * ordinary run leaves the tree clean; otherwise they go to a fresh temporary folder.
 */
const SHOTS =
  process.env.GATEHOUSE_WRITE_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'console')
    : mkdtempSync(join(tmpdir(), 'gatehouse-console-shots-'));
const OWNER = { email: 'owner4821@example.com', password: 'Quartz-Vivid-Harbor-97' };

const hasChromium = existsSync(CHROMIUM);

/** axe on the page: nothing serious or critical; and the CSP refuses inline script and style. */
async function checkPage(page: Page, name: string): Promise<void> {
  const serious = (await axeViolations(page)).filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  expect(serious, `axe on ${name}`).toEqual([]);
  const inline = await tryInline(page);
  expect(inline.scriptRan, `inline script ran on ${name}`).toBe(false);
  expect(inline.styleApplied, `inline style applied on ${name}`).toBe(false);
  expect(inline.violations).toEqual(expect.arrayContaining(['script-src-elem', 'style-src-elem']));
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe.skipIf(process.platform === 'win32')('the admin console in Chromium', () => {
  let stack: DevStack | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!hasChromium) return;
    stack = await startDevStack({ readyWithinMs: 150_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    stack?.cleanup();
  }, 30_000);

  it.skipIf(!hasChromium && !IN_CI)(
    hasChromium || IN_CI
      ? 'first run, sign-in, tenant, user, disable, audit log, backup download: accessible, CSP-strict'
      : `skipped: ${CHROMIUM} is missing (CI installs Debian's chromium)`,
    async () => {
      if (!hasChromium) throw new Error(`${CHROMIUM} is missing and CI=true: install chromium`);
      const dev = stack!;
      expect(dev.readyStatus, dev.output()).toBe(200);

      // 1. npm run dev printed the first-owner code and the console's first-run URL, once.
      expect(await waitFor(() => /\[dev\] console {6}http/.test(dev.output()), 15_000)).toBe(true);
      const out = dev.output();
      const code = /\[dev\] first run {4}Bootstrap code[^:]*: ([0-9A-Z-]+)/.exec(out)?.[1];
      expect(code, out).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(out.split(code!).length - 1).toBe(1);
      expect(out).toContain(`[dev] first run    open ${dev.base}/admin/setup`);
      expect(out).toContain(`[dev] console      ${dev.base}/admin/`);

      mkdirSync(SHOTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      const context = await browser.newContext({
        acceptDownloads: true,
        viewport: { width: 1200, height: 800 },
      });
      const page = await context.newPage();
      const base = dev.base;

      // 2. The printed URL leads a newcomer to sign-in; the first-run page takes the code.
      await page.goto(`${base}/admin/`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await checkPage(page, 'sign-in');
      await shoot(page, 'sign-in');
      await page.getByRole('link', { name: 'Create the first owner' }).click();
      await page.getByLabel('Bootstrap code').fill(code!);
      await page.getByLabel('Your email').fill(OWNER.email);
      await page.getByLabel('New password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Create the first owner' }).click();
      await page.getByRole('heading', { name: 'The first owner exists' }).waitFor();
      expect(await page.locator('.codes li').count()).toBe(10);
      await checkPage(page, 'first run');

      // 3. Sign in, from the keyboard: the skip link is the first stop, then the form in order.
      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      const focused = () =>
        page.evaluate('document.activeElement?.id || document.activeElement?.textContent?.trim()');
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('Skip to main content');
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('Gatehouse console');
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('email');
      await page.keyboard.type(OWNER.email);
      await page.keyboard.press('Tab');
      expect(await focused()).toBe('password');
      await page.keyboard.type(OWNER.password);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Tenants' }).waitFor();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('Signed in.');

      // 4. A tenant.
      await page.getByLabel('Slug').fill('acme');
      await page.getByLabel('Name', { exact: true }).fill('Acme Inc.');
      await page.getByLabel('CORS origins (optional)').fill('https://app.acme.example');
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await page.getByRole('heading', { name: 'Tenant Acme Inc.' }).waitFor();
      expect(await page.getByRole('main').textContent()).toContain('https://app.acme.example');
      await checkPage(page, 'tenant');
      await shoot(page, 'tenant');
      await page.goto(`${base}/admin/tenants`);
      await checkPage(page, 'tenants');
      await shoot(page, 'tenants');

      // 5. A user, then disabled.
      await page.goto(`${base}/admin/tenants/acme/users`);
      await page.getByLabel('Email', { exact: true }).fill('ada@acme.example');
      await page.getByLabel('Name (optional)').fill('Ada Lovelace');
      await page.getByRole('button', { name: 'Create user' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('User created.');
      await page.getByRole('button', { name: 'Disable ada@acme.example' }).click();
      await expect
        .poll(() => page.getByRole('status').textContent())
        .toBe('User disabled; their sessions were ended.');
      const row = page.getByRole('row', { name: /ada@acme\.example/ });
      expect(await row.textContent()).toContain('disabled');
      await checkPage(page, 'users');
      await shoot(page, 'users');

      // 6. The audit log shows the writes; the chain verifies.
      await page.getByRole('link', { name: 'Audit log' }).first().click();
      await page.getByLabel('Tenant').selectOption('acme');
      await page.getByRole('button', { name: 'Filter' }).click();
      const log = await page.getByRole('table').textContent();
      for (const type of ['admin.tenant.created', 'admin.user.created', 'admin.user.disabled'])
        expect(log).toContain(type);
      await page.getByRole('button', { name: 'Verify the chain' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^\s*Chain intact/);
      await checkPage(page, 'audit log');
      await shoot(page, 'audit');

      // 7. A backup, downloaded: a bkp1 archive.
      await page.getByRole('link', { name: 'Backups' }).click();
      await page.getByLabel('Tenant').selectOption('acme');
      await page.getByLabel('Passphrase').fill('a long backup passphrase for acme');
      await checkPage(page, 'backups');
      await shoot(page, 'backups');
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 150_000 }),
        page.getByRole('button', { name: 'Download the archive' }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^acme-.*\.bkp1$/);
      const saved = join(dev.dataDir, 'download.bkp1');
      await download.saveAs(saved);
      expect(readFileSync(saved).subarray(0, 4).toString('latin1')).toBe('bkp1');

      // 8. Sign out: the console asks for sign-in again.
      await page.goto(`${base}/admin/tenants`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.goto(`${base}/admin/audit`);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    },
    420_000,
  );
});
