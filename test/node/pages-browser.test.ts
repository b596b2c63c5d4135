// The hosted pages in a real browser: `npm run dev` (the Worker under wrangler, PGlite) and
// Debian's Chromium via playwright-core. For every page: axe-core finds no violations, the CSP
// header allows no inline script or eval, names no third-party origin and forbids framing, and
// an inline <script>/<style> added through the DOM is blocked (securitypolicyviolation) while the
// page's own same-origin module script runs (the passkey button appears). Then a sign-in with
// JavaScript off lands back on return_to, and so does the passkey button on /login.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/postgres.ts';
import { axeViolations, CHROMIUM, IN_CI, tryInline } from './browser-helpers.ts';

// Generous: in CI this starts beside other stacks and browsers (three test files at once).
const READY_WITHIN_MS = 150_000;
const PASSWORD = 'correct horse battery staple';

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A passkey ceremony in the page, without a library: options → create() → verify; the status. */
const REGISTER_PASSKEY = `async (base) => {
  const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const post = (path, body) => fetch(base + path, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const o = await (await post('/v1/auth/passkeys/register/options', {})).json();
  if (o.challenge === undefined) return JSON.stringify(o);
  const cred = await navigator.credentials.create({ publicKey: {
    ...o,
    challenge: b64(o.challenge),
    user: { ...o.user, id: b64(o.user.id) },
    excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({ ...c, id: b64(c.id) })),
  } });
  const response = {
    id: cred.id, rawId: enc(cred.rawId), type: 'public-key', clientExtensionResults: {},
    response: {
      clientDataJSON: enc(cred.response.clientDataJSON),
      attestationObject: enc(cred.response.attestationObject),
      transports: cred.response.getTransports(),
    },
  };
  return (await post('/v1/auth/passkeys/register/verify', { response, name: 'Virtual' })).status;
}`;

describe.skipIf(process.platform === 'win32')('hosted pages in Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-pages-'));
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let output = '';

  afterAll(async () => {
    await browser?.close();
    if (child?.pid !== undefined && groupAlive(child.pid)) {
      process.kill(-child.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (groupAlive(child.pid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  const hasChromium = existsSync(CHROMIUM);
  it.skipIf(!hasChromium && !IN_CI)(
    hasChromium || IN_CI
      ? 'every page passes axe, carries a strict CSP, and blocks inline script and style'
      : `skipped: ${CHROMIUM} is missing (CI installs Debian's chromium)`,
    async () => {
      if (!hasChromium) {
        throw new Error(`${CHROMIUM} is missing and CI=true: install Debian's chromium`);
      }
      // 1. The Worker under `npm run dev`, in a temporary data directory (PGlite).
      const port = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(port),
        GATEHOUSE_DEV_DATA_DIR: dataDir,
      };
      delete env.DATABASE_URL;
      child = spawn(process.execPath, ['scripts/dev.ts'], {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const started = Date.now();
      let ready = false;
      while (!ready && Date.now() - started < READY_WITHIN_MS && child.exitCode === null) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/health/ready`, {
            signal: AbortSignal.timeout(2_000),
          });
          ready = response.status === 200;
        } catch {
          // not listening yet
        }
        if (!ready) await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready, `the dev stack did not become ready; output:\n${output}`).toBe(true);
      const origin = `http://localhost:${port}`;
      const base = `${origin}/t/default`;

      // 2. The default tenant: branding, email codes on, passkeys on localhost; an OAuth client.
      const pglite = /Postgres\s+PGlite on ([^:\s]+):(\d+)/.exec(output);
      expect(pglite, `no PGlite address in the output:\n${output}`).not.toBeNull();
      const db = new pg.Client({
        host: pglite![1],
        port: Number(pglite![2]),
        user: 'gatehouse',
        database: 'gatehouse',
      });
      await db.connect();
      try {
        await db.query(
          `update tenants set settings = settings || $1::jsonb where slug = 'default'`,
          [
            JSON.stringify({
              webauthn: { rpId: 'localhost', origins: [`http://localhost:${port}`] },
              mail: { otp_sign_in_enabled: true },
              branding: { display_name: 'Acme Browser', accent_color: '#0b5394' },
            }),
          ],
        );
        await db.query(
          `insert into oauth_clients (tenant_id, client_id, name, type, redirect_uris, grant_types, scopes, first_party, created_at, updated_at)
           select id, 'pages-app', 'Pages App', 'public', array['http://localhost/cb'], array['authorization_code'],
             array['openid','email','profile'], false, now(), now() from tenants where slug = 'default'`,
        );
      } finally {
        await db.end();
      }

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
      const context = await browser.newContext();
      const page = await context.newPage();
      // Pages that need a flow cookie render from its presence alone (the POST checks the secret).
      await context.addCookies(
        ['gatehouse_mfa', 'gatehouse_reset', 'gatehouse_verify'].map((name) => ({
          name,
          value: `${'A'.repeat(43)}${name === 'gatehouse_mfa' ? '.p' : ''}`,
          url: origin,
          httpOnly: true,
        })),
      );
      const returnTo =
        '/oauth2/authorize?client_id=pages-app&response_type=code&scope=openid%20email&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&login_hint=ann%40example.com';
      const pages = [
        `/login?return_to=${encodeURIComponent(returnTo)}`,
        '/register',
        '/mfa',
        '/forgot-password',
        '/reset-password',
        '/verify-email',
        '/email-code',
        '/signed-in',
        '/signed-out',
      ];
      for (const path of pages) {
        const response = await page.goto(`${base}${path}`);
        expect(response?.status(), path).toBe(200);
        const csp = (await response!.allHeaders())['content-security-policy'] ?? '';
        expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|\*/);
        expect(csp, path).toContain("frame-ancestors 'none'");
        // No directive names another origin, except form-action: a page carrying return_to
        // names the authorize request's redirect origin there, so the sign-in's redirect chain
        // may end at the client (docs/hosted-pages.md), and nothing else.
        const directives = new Map(
          csp.split(';').map((part) => {
            const [name, ...sources] = part.trim().split(/\s+/);
            return [name!, sources] as const;
          }),
        );
        for (const [name, sources] of directives) {
          const origins = sources.filter((source) => /^https?:\/\//.test(source));
          const allowed =
            name === 'form-action' && path.startsWith('/login?') ? ['http://localhost'] : [];
          expect(origins, `${path}: ${name} names no other origin`).toEqual(allowed);
        }
        expect(await axeViolations(page), path).toEqual([]);
        const inline = await tryInline(page);
        expect(inline.scriptRan, path).toBe(false);
        expect(inline.styleApplied, path).toBe(false);
        expect(inline.violations, path).toEqual(
          expect.arrayContaining(['script-src-elem', 'style-src-elem']),
        );
      }

      // 3. The page's own module script runs under the CSP: the passkey button appears.
      await page.goto(`${base}/login`);
      await page.locator('button[data-passkey-signin]').waitFor({ state: 'visible' });

      // 4. Register and sign in through the forms, then consent, all with the browser's cookies.
      const email = `pages-${Date.now().toString(36)}@example.com`;
      await page.goto(`${base}/register`);
      await page.fill('#email', email);
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      if (page.url() !== `${base}/signed-in`)
        throw new Error(`sign-up did not land: ${(await page.textContent('main')) ?? ''}`);
      const consent = await page.goto(`${base}/consent?return_to=${encodeURIComponent(returnTo)}`);
      expect(consent?.status()).toBe(200);
      expect(await page.textContent('h1')).toContain('Pages App');
      expect(await axeViolations(page)).toEqual([]);
      const inline = await tryInline(page);
      expect(inline.scriptRan).toBe(false);

      // 5. JavaScript off: the login form alone signs in and returns to authorize.
      const noJS = await browser.newContext({ javaScriptEnabled: false });
      const plain = await noJS.newPage();
      await plain.goto(`${base}/login?return_to=${encodeURIComponent(returnTo)}`);
      await plain.fill('#email', email);
      await plain.fill('#password', PASSWORD);
      const [request] = await Promise.all([
        plain.waitForRequest((r) => r.url().includes('/oauth2/authorize?')),
        plain.click('button[type="submit"]'),
      ]);
      expect(request.url()).toBe(`${base}${returnTo}`);
      await noJS.close();

      // 6. Passkey sign-in on /login: register one (CDP virtual authenticator) through the JSON
      // API while signed in, sign out, then the hosted page's button signs in and returns.
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
        },
      });
      expect(await page.evaluate(`(${REGISTER_PASSKEY})(${JSON.stringify(base)})`)).toBe(201);
      expect(
        await page.evaluate(`fetch(${JSON.stringify(`${base}/v1/auth/logout`)}, {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}',
      }).then((r) => r.status)`),
      ).toBe(200);
      await page.goto(`${base}/login?return_to=${encodeURIComponent(returnTo)}`);
      const button = page.locator('button[data-passkey-signin]');
      await button.waitFor({ state: 'visible' });
      const [back] = await Promise.all([
        page.waitForRequest((r) => r.url().includes('/oauth2/authorize?')),
        button.click(),
      ]);
      expect(back.url()).toBe(`${base}${returnTo}`);
    },
    240_000,
  );
});
