// Issue 15, "done when": the example SPA (examples/spa, built with Vite) on its own hostname and
// Gatehouse (`npm run dev`) on another, in Debian's Chromium, over HTTPS, in the two layouts teams
// deploy. Hostnames map to loopback with --host-resolver-rules; one Node HTTPS server on one port
// serves every name: the built SPA for app.example.test, a page of an unlisted origin for
// evil.example.test, and a TLS-terminating proxy to the dev stack for auth.example.test and
// auth.other.test. Its certificate (openssl, self-signed, per run) is accepted by Chromium through
// --ignore-certificate-errors-spki-list, which makes it a valid certificate (WebAuthn refuses to
// run on pages with certificate errors; --ignore-certificate-errors would not do).
//   1. same site, cross origin (app.example.test → auth.example.test): SameSite=Lax cookies;
//   2. cross site (app.example.test → auth.other.test): SameSite=None; Secure cookies;
//   3. cross site with third-party cookies blocked (CDP Network.setCookieControls): cookie mode
//      provably fails, token mode (access + refresh tokens, no cookies) does the same flow.
// Each: register, sign in, session, ten concurrent getAccessToken() → one refresh, passkey
// registration and sign-in (CDP virtual authenticator), sign out; and the unlisted origin can
// read nothing and change nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import pg from 'pg';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type LaunchOptions,
  type Page,
} from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/postgres.ts';
import { ROOT, startDevStack, type DevStack } from './dev-stack-helpers.ts';

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const HOSTS = ['app.example.test', 'auth.example.test', 'auth.other.test', 'evil.example.test'];
const PASSWORD = 'correct horse battery staple';

/** This run's files (certificate, built SPA, profile); made only when the test runs. */
let work = '';
let stack: DevStack | undefined;
let server: Server | undefined;
let browser: Browser | undefined;
let launchOptions: LaunchOptions = {};
let port = 0;
/** What app.example.test/config.json answers: the layout under test. */
let spaConfig: Record<string, unknown> = {};

const origin = (host: string): string => `https://${host}:${port}`;

function certificate(): { key: Buffer; cert: Buffer; spki: string } {
  const san = HOSTS.map((host) => `DNS:${host}`).join(',');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
      .concat(['-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-days', '1'])
      .concat(['-subj', '/CN=gatehouse-spa-test', '-addext', `subjectAltName=${san}`]),
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  const spki = spawnSync(
    'sh',
    [
      '-c',
      `openssl x509 -in ${join(work, 'cert.pem')} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
    ],
    { encoding: 'utf8' },
  );
  return {
    key: readFileSync(join(work, 'key.pem')),
    cert: readFileSync(join(work, 'cert.pem')),
    spki: spki.stdout.trim(),
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
};

// The unlisted origin's page: tries to read and to write with the user's ambient credentials.
const EVIL_PAGE = `<!doctype html><meta charset="utf-8"><title>evil</title>
<script type="module" src="/evil.js"></script>`;
const EVIL_SCRIPT = `
window.attack = async (api) => {
  const attempt = async (path, init) => {
    try {
      const response = await fetch(api + path, { credentials: 'include', ...init });
      return { read: await response.text() };
    } catch (error) {
      return { blocked: String(error) };
    }
  };
  const json = { 'Content-Type': 'application/json' };
  return {
    session: await attempt('/v1/auth/session'),
    sessions: await attempt('/v1/auth/sessions'),
    token: await attempt('/v1/auth/token', { method: 'POST', headers: json, body: '{"grant_type":"session"}' }),
    // A "simple" cross-site POST (no preflight): the browser sends it; the Origin check refuses it.
    revokeOthers: await attempt('/v1/auth/sessions/revoke-others', { method: 'POST' }),
    logout: await attempt('/v1/auth/logout', { method: 'POST' }),
  };
};`;

function serve(spaDir: string, tls: { key: Buffer; cert: Buffer }): Server {
  return createServer(tls, (req, res) => {
    const host = (req.headers.host ?? '').split(':')[0]!;
    const url = new URL(req.url ?? '/', 'https://x');
    if (host.startsWith('auth.')) {
      // TLS terminates here; the Worker (wrangler dev, plain http) sees the same path and headers.
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: stack!.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    if (host === 'evil.example.test') {
      const script = url.pathname === '/evil.js';
      res.writeHead(200, { 'Content-Type': script ? TYPES['.js']! : TYPES['.html']! });
      res.end(script ? EVIL_SCRIPT : EVIL_PAGE);
      return;
    }
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'Content-Type': TYPES['.json']! }).end(JSON.stringify(spaConfig));
      return;
    }
    const file = join(spaDir, url.pathname === '/' ? 'index.html' : url.pathname);
    if (!file.startsWith(spaDir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      // The example runs under a strict CSP: no inline script or style anywhere.
      'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${origin('auth.example.test')} ${origin('auth.other.test')}`,
    });
    res.end(readFileSync(file));
  });
}

async function tenantSettings(sql: string, params: unknown[] = []): Promise<void> {
  const pglite = /Postgres\s+PGlite on ([^:\s]+):(\d+)/.exec(stack!.output());
  if (pglite === null) throw new Error(`no PGlite address in the output:\n${stack!.output()}`);
  const db = new pg.Client({
    host: pglite[1],
    port: Number(pglite[2]),
    user: 'gatehouse',
    database: 'gatehouse',
  });
  await db.connect();
  try {
    await db.query(sql, params);
  } finally {
    await db.end();
  }
}

type Client = Record<string, (...args: unknown[]) => Promise<unknown>> &
  Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>;

/** Runs `client.<path>(...args)` on the SPA's client; a refusal comes back as its error code. */
async function call(page: Page, path: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(
    async ([path, args]) => {
      const client = (globalThis as unknown as { gatehouse: Client }).gatehouse;
      const parts = (path as string).split('.');
      const target = parts.length === 1 ? client : client[parts[0]!];
      const method = parts.at(-1)!;
      try {
        return { ok: await (target as Client)[method]!(...(args as unknown[])) };
      } catch (error) {
        return { error: (error as { error?: string }).error ?? String(error) };
      }
    },
    [path, args] as const,
  );
}

/**
 * A page whose third-party cookies are restricted or not (CDP Network.setCookieControls): a
 * Playwright context is off the record, where Chromium restricts them by default, as Safari and
 * Firefox's strict mode do; lifting it stands for the browsers that still send them.
 */
async function openPage(
  context: BrowserContext,
  url: string,
  restrictThirdPartyCookies: boolean,
): Promise<Page> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCookieControls', {
    enableThirdPartyCookieRestriction: restrictThirdPartyCookies,
  });
  await page.goto(url);
  return page;
}

async function openSPA(context: BrowserContext, restrictThirdPartyCookies: boolean): Promise<Page> {
  const page = await openPage(context, origin('app.example.test'), restrictThirdPartyCookies);
  await page.waitForFunction(() => 'gatehouse' in globalThis);
  return page;
}

async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}

/** The page's DOM, as far as the test touches it (the test compiles without the DOM library). */
interface PageGlobals {
  document: { getElementById(id: string): { textContent: string } };
}

/**
 * Clicks `selector` and waits for the page to finish what it started: show() always ends by
 * writing #status, a refusal writes #error. Returns "status|email" or "error: …".
 */
async function act(page: Page, selector: string): Promise<string> {
  await page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    document.getElementById('status').textContent = '';
    document.getElementById('error').textContent = '';
  });
  await page.click(selector);
  await expect
    .poll(
      async () =>
        ((await page.textContent('#status')) ?? '') + ((await page.textContent('#error')) ?? ''),
      {
        timeout: 20_000,
      },
    )
    .not.toBe('');
  const error = (await page.textContent('#error')) ?? '';
  if (error !== '') return `error: ${error}`;
  const status = (await page.textContent('#status')) ?? '';
  return status === 'Signed in' ? `${status}|${(await page.textContent('#email')) ?? ''}` : status;
}

async function reloadSPA(page: Page): Promise<string> {
  await page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    document.getElementById('status').textContent = '';
  });
  await page.reload();
  await page.waitForFunction(() => 'gatehouse' in globalThis);
  await expect
    .poll(async () => (await page.textContent('#status')) ?? '', { timeout: 20_000 })
    .not.toBe('Loading…');
  const status = (await page.textContent('#status')) ?? '';
  return status === 'Signed in' ? `${status}|${(await page.textContent('#email')) ?? ''}` : status;
}

/** The flow of the issue, through the example's UI and its client. */
async function fullFlow(
  context: BrowserContext,
  api: string,
  restrictThirdPartyCookies: boolean,
): Promise<void> {
  const page = await openSPA(context, restrictThirdPartyCookies);
  await virtualAuthenticator(context, page);
  const email = `spa-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.com`;
  const signedIn = `Signed in|${email}`;

  // Sign up through the page's form.
  await page.fill('#sign-up input[name=email]', email);
  await page.fill('#sign-up input[name=password]', PASSWORD);
  expect(await act(page, '#sign-up button[type=submit]')).toBe(signedIn);
  expect(await page.locator('#sessions li').count()).toBe(1);

  // Another device's session (for revoke-others, below, to have something to end).
  const other = await fetch(`${stack!.base}/t/default/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(other.status).toBe(200);

  // After a reload nothing is cached in memory (token mode keeps only the refresh token): from
  // the reload through ten concurrent getAccessToken() calls, exactly one refresh request.
  const refreshes: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/auth/token') && r.method() === 'POST') refreshes.push(r.url());
  });
  expect(await reloadSPA(page)).toBe(signedIn);
  const tokens = await page.evaluate(() =>
    Promise.all(
      Array.from({ length: 10 }, () =>
        (globalThis as unknown as { gatehouse: { getAccessToken(): Promise<string> } }).gatehouse
          .getAccessToken()
          .catch((e: { error?: string }) => `error:${e.error}`),
      ),
    ),
  );
  expect(new Set(tokens).size, tokens[0]).toBe(1);
  expect(tokens[0]).toMatch(/^ey/);
  expect(refreshes).toHaveLength(1);

  // Sign out, and in again with the password through the form.
  expect(await act(page, '#sign-out')).toBe('Signed out');
  expect(await call(page, 'session')).toEqual({ error: 'unauthorized' });
  await page.fill('#sign-in input[name=email]', email);
  await page.fill('#sign-in input[name=password]', PASSWORD);
  expect(await act(page, '#sign-in button[type=submit]')).toBe(signedIn);

  // A passkey (the virtual authenticator), then sign out and in with it, usernameless.
  expect(await act(page, '#add-passkey')).toBe(signedIn);
  const listed = (await call(page, 'passkeys.list')) as { ok?: { passkeys: unknown[] } };
  expect(listed.ok?.passkeys).toHaveLength(1);
  expect(await act(page, '#sign-out')).toBe('Signed out');
  expect(await act(page, '#passkey-sign-in')).toBe(signedIn);
  expect(await page.locator('#sessions li').count()).toBe(2);

  // The unlisted origin, in the same browser (same cookies): reads nothing, changes nothing.
  const evil = await openPage(context, origin('evil.example.test'), restrictThirdPartyCookies);
  const attack = (await evil.evaluate(
    (apiURL) => (globalThis as unknown as { attack(api: string): Promise<unknown> }).attack(apiURL),
    api,
  )) as Record<string, { read?: string; blocked?: string }>;
  for (const [name, outcome] of Object.entries(attack))
    expect(
      outcome.blocked,
      `${name} must not be readable: ${JSON.stringify(outcome)}`,
    ).toBeDefined();
  await evil.close();
  // Still signed in, both sessions intact: the simple POSTs (revoke-others, logout) did nothing.
  expect(await reloadSPA(page)).toBe(signedIn);
  expect(await page.locator('#sessions li').count()).toBe(2);
  expect(await act(page, '#sign-out')).toBe('Signed out');
  await page.close();
}

describe.skipIf(process.platform === 'win32')('the example SPA across origins in Chromium', () => {
  beforeAll(async () => {
    if (!HAS_CHROMIUM) return;
    work = mkdtempSync(join(tmpdir(), 'gatehouse-spa-'));
    const spaDir = join(work, 'spa');
    await build({
      configFile: join(ROOT, 'examples/spa/vite.config.ts'),
      build: { outDir: spaDir, emptyOutDir: true },
      logLevel: 'warn',
    });
    const tls = certificate();
    port = await freePort();
    stack = await startDevStack({ readyWithinMs: 150_000 });
    expect(stack.readyStatus, stack.output()).toBe(200);
    await tenantSettings(
      // Every sign-up and sign-in of the three layouts comes from 127.0.0.1: room for them all.
      `update tenants set settings = settings || '{"webauthn":{"rpId":"example.test"},
         "rateLimits":{"register.ip":{"limit":100},"login.ip":{"limit":100},"passkey.authenticate":{"limit":100}}}'::jsonb,
         cors_origins = array[$1] where slug = 'default'`,
      [origin('app.example.test')],
    );
    server = serve(spaDir, tls);
    await new Promise<void>((done) => server!.listen(port, '127.0.0.1', done));
    launchOptions = {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=${HOSTS.map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`,
        `--ignore-certificate-errors-spki-list=${tls.spki}`,
      ],
    };
    browser = await chromium.launch(launchOptions);
  }, 240_000);

  afterAll(async () => {
    // GATEHOUSE_SPA_TEST_LOG=<file> keeps the dev stack's output (its request log) for debugging.
    if (process.env.GATEHOUSE_SPA_TEST_LOG)
      writeFileSync(process.env.GATEHOUSE_SPA_TEST_LOG, stack?.output() ?? '');
    await browser?.close();
    await new Promise<void>((done) => (server === undefined ? done() : server.close(() => done())));
    stack?.cleanup();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  }, 30_000);

  const title = (name: string) =>
    HAS_CHROMIUM || IN_CI
      ? name
      : `skipped: ${CHROMIUM} is missing (CI installs Debian's chromium)`;
  const run = it.skipIf(!HAS_CHROMIUM && !IN_CI);
  const needChromium = () => {
    if (!HAS_CHROMIUM)
      throw new Error(`${CHROMIUM} is missing and CI=true: install Debian's chromium`);
  };

  run(
    title(
      'same site, cross origin: app.example.test → auth.example.test with SameSite=Lax cookies',
    ),
    async () => {
      needChromium();
      await tenantSettings(
        `update tenants set settings = settings || '{"cookieSameSite":"Lax"}'::jsonb where slug = 'default'`,
      );
      const api = `${origin('auth.example.test')}/t/default`;
      spaConfig = { baseURL: origin('auth.example.test'), tenant: 'default', mode: 'cookie' };
      const context = await browser!.newContext();
      try {
        await fullFlow(context, api, false);
      } finally {
        await context.close();
      }
    },
    240_000,
  );

  run(
    title('cross site: app.example.test → auth.other.test with SameSite=None; Secure cookies'),
    async () => {
      needChromium();
      await tenantSettings(
        `update tenants set settings = settings || '{"cookieSameSite":"None"}'::jsonb where slug = 'default'`,
      );
      const api = `${origin('auth.other.test')}/t/default`;
      spaConfig = { baseURL: origin('auth.other.test'), tenant: 'default', mode: 'cookie' };
      // Playwright's contexts are off the record, where Chromium always blocks third-party
      // cookies; a browser that still sends them is a persistent profile of its own.
      // Its preferences say so explicitly (0: allow third-party cookies; Chromium builds differ).
      const profile = join(work, 'profile');
      mkdirSync(join(profile, 'Default'), { recursive: true });
      writeFileSync(
        join(profile, 'Default', 'Preferences'),
        JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }),
      );
      const context = await chromium.launchPersistentContext(profile, {
        ...launchOptions,
        args: [...(launchOptions.args ?? []), '--disable-features=TrackingProtection3pcd'],
      });
      try {
        await fullFlow(context, api, false);
      } finally {
        await context.close();
      }
    },
    240_000,
  );

  run(
    title('cross site with third-party cookies blocked: cookie mode fails, token mode works'),
    async () => {
      needChromium();
      const api = `${origin('auth.other.test')}/t/default`;
      const context = await browser!.newContext();
      try {
        // Third-party cookies blocked, as Safari and strict Firefox do: cookie mode fails.
        spaConfig = { baseURL: origin('auth.other.test'), tenant: 'default', mode: 'cookie' };
        const probe = await openSPA(context, true);
        const email = `blocked-${Date.now().toString(36)}@example.com`;
        const registered = (await call(probe, 'register', { email, password: PASSWORD })) as {
          ok?: unknown;
        };
        expect(registered.ok).toBeDefined();
        // The cookie was refused by the browser: cookie mode cannot work here.
        expect(await call(probe, 'session')).toEqual({ error: 'unauthorized' });
        await probe.close();

        spaConfig = { baseURL: origin('auth.other.test'), tenant: 'default', mode: 'token' };
        await fullFlow(context, api, true);
      } finally {
        await context.close();
      }
    },
    240_000,
  );
});
