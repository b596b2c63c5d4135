// Issue 14: Gatehouse as the upstream of another Gatehouse tenant. Tenant A is the OpenID
// Provider (its issuer, a user, a third-party client whose redirect URI is tenant B's callback);
// tenant B has a generic `oidc` identity provider pointed at tenant A's issuer. In Chromium, tenant
// B's hosted sign-in page → "Sign in with upstream-a" → tenant A's hosted sign-in and consent →
// back at tenant B, signed in. Both halves are checked against each other: tenant B's identity
// carries tenant A's subject for that user, and a second round signs the same user in again.
// The Worker runs under `npm run dev` (PGlite); Chromium is Debian's, driven by playwright-core.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPost, bootstrapOperator, startDevStack, type DevStack } from './dev-stack-helpers.ts';

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const hasChromium = existsSync(CHROMIUM);
const PASSWORD = 'correct horse battery staple';
const PROVIDER = 'upstream-a';

/** One short connection to the stack's PGlite (it serves one client at a time). */
async function query<T>(stack: DevStack, text: string, values: unknown[]): Promise<T[]> {
  const address = /PGlite on ([\d.]+):(\d+)/.exec(stack.output());
  if (address === null) throw new Error(`no PGlite address in the output:\n${stack.output()}`);
  const db = new pg.Client({
    connectionString: `postgres://gatehouse@${address[1]}:${address[2]}/gatehouse`,
  });
  await db.connect();
  try {
    return (await db.query(text, values)).rows as T[];
  } finally {
    await db.end();
  }
}

describe.skipIf(process.platform === 'win32')('a Gatehouse tenant signs in through another', () => {
  let stack: DevStack | undefined;
  let browser: Browser | undefined;
  let operatorCookie = '';
  const suffix = Date.now().toString(36);
  const slugA = `upstream-${suffix}`;
  const slugB = `downstream-${suffix}`;
  const email = `fed-${suffix}@example.com`;
  let issuerA = '';
  let baseB = '';

  beforeAll(async () => {
    if (!hasChromium) {
      if (IN_CI) throw new Error(`${CHROMIUM} is missing and CI=true: install Debian's chromium`);
      return;
    }
    stack = await startDevStack({ readyWithinMs: 150_000 });
    if (stack.readyStatus !== 200)
      throw new Error(`the dev stack did not come up:\n${stack.output()}`);
    operatorCookie = await bootstrapOperator(stack);
    for (const slug of [slugA, slugB]) {
      const created = await adminPost(stack, '/tenants', { slug, name: slug }, operatorCookie);
      expect(created.status, await created.clone().text()).toBe(201);
    }
    issuerA = `${stack.base}/t/${slugA}`;
    baseB = `${stack.base}/t/${slugB}`;

    // Tenant A: its user, registered through the JSON API.
    const register = await fetch(`${issuerA}/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: stack.base },
      body: JSON.stringify({ email, password: PASSWORD, name: 'Upstream User' }),
    });
    expect(register.status, await register.clone().text()).toBe(201);

    // Tenant A: a third-party client whose only redirect URI is tenant B's callback.
    const client = await adminPost(
      stack,
      `/tenants/${slugA}/clients`,
      {
        name: 'Tenant B',
        type: 'confidential',
        redirect_uris: [`${baseB}/v1/auth/oauth/${PROVIDER}/callback`],
        grant_types: ['authorization_code'],
        scopes: ['openid', 'profile', 'email'],
        first_party: false,
      },
      operatorCookie,
    );
    expect(client.status, await client.clone().text()).toBe(201);
    const { client: registered, client_secret } = (await client.json()) as {
      client: { client_id: string };
      client_secret: string;
    };

    // Tenant B: a generic OIDC provider at tenant A's issuer (discovery does the rest).
    const provider = await adminPost(
      stack,
      `/tenants/${slugB}/identity-providers`,
      {
        kind: 'oidc',
        name: PROVIDER,
        issuer: issuerA,
        client_id: registered.client_id,
        client_secret,
      },
      operatorCookie,
    );
    expect(provider.status, await provider.clone().text()).toBe(201);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    stack?.cleanup();
  }, 30_000);

  /** Tenant B's hosted page → the provider link → tenant A's pages → tenant B's landing. */
  async function signInThroughTenantA(
    context: BrowserContext,
    consent: 'asked' | 'remembered_or_asked',
  ): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${baseB}/login`);
    await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).click();
    // Tenant A's hosted sign-in page, reached through its authorize endpoint.
    await page.waitForURL(new RegExp(`/t/${slugA}/login\\?`));
    await page.getByLabel(/email/i).fill(email);
    await page.getByLabel(/password/i).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(new RegExp(`/t/(${slugA}/consent|${slugB}/signed-in)`));
    const asked = page.url().includes(`/t/${slugA}/consent`);
    if (consent === 'asked') expect(asked, `at ${page.url()}`).toBe(true);
    if (asked) {
      await expect(page.getByText('Tenant B').first().isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
    }
    await page.waitForURL(`${baseB}/signed-in`).catch(async (error: unknown) => {
      throw new Error(`not back at tenant B; at ${page.url()}: ${await page.content()}`, {
        cause: error,
      });
    });
    return page;
  }

  async function sessionAtB(context: BrowserContext): Promise<{ user: { email: string } }> {
    const session = await context.request.get(`${baseB}/v1/auth/session`);
    expect(session.status(), await session.text()).toBe(200);
    return (await session.json()) as { user: { email: string } };
  }

  it.skipIf(!hasChromium && !IN_CI)(
    hasChromium || IN_CI
      ? "tenant B signs tenant A's user in through A's hosted pages, and again as the same user"
      : `skipped: ${CHROMIUM} is missing (CI installs Debian's chromium)`,
    async () => {
      const first = await browser!.newContext();
      // A third-party client of tenant A: its first authorization asks for consent.
      await signInThroughTenantA(first, 'asked');
      expect((await sessionAtB(first)).user.email).toBe(email);
      // The upstream half: the same browser holds a tenant A session for the user (its own
      // cookie), whose id tenant B must have received as the subject.
      const atA = await first.request.get(`${issuerA}/v1/auth/session`);
      expect(atA.status()).toBe(200);
      const userA = ((await atA.json()) as { user: { id: string; email: string } }).user;
      expect(userA.email).toBe(email);
      await first.close();

      // Both halves against each other: tenant B's user is linked to tenant A's subject, and its
      // session was begun by federation (amr `fed`).
      const linked = await query<{ user_id: string; subject: string; amr: string }>(
        stack!,
        `select f.user_id, f.subject, s.amr from federated_identities f
           join tenants t on t.id = f.tenant_id
           join sessions s on s.user_id = f.user_id
           join users u on u.id = f.user_id
         where t.slug = $1 and u.email = $2`,
        [slugB, email],
      );
      expect(linked).toHaveLength(1);
      expect(linked[0]!.subject).toBe(userA.id);
      expect(String(linked[0]!.amr)).toContain('fed');

      // A second round, from a fresh browser: the same user, no second account.
      const second = await browser!.newContext();
      await signInThroughTenantA(second, 'remembered_or_asked');
      expect((await sessionAtB(second)).user.email).toBe(email);
      await second.close();
      const after = await query<{ users: number; identities: number; sessions: number }>(
        stack!,
        `select (select count(*) from users u where u.tenant_id = t.id)::int as users,
                (select count(*) from federated_identities f where f.tenant_id = t.id)::int as identities,
                (select count(*) from sessions s where s.tenant_id = t.id)::int as sessions
           from tenants t where t.slug = $1`,
        [slugB],
      );
      expect(after).toEqual([{ users: 1, identities: 1, sessions: 2 }]);
    },
    240_000,
  );
});
