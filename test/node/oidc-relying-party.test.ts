// Gatehouse as an OpenID Connect provider, proven with real relying parties: panva's
// `openid-client` (discovery, code + PKCE through the hosted pages in Chromium with a TOTP second
// factor and a consent screen, ID token validation, userinfo, refresh, introspection, revocation,
// RP-initiated logout, client_credentials) and `oauth4webapi` (a public client's code flow).
// The Worker runs under `npm run dev` (PGlite); Chromium is Debian's, driven by playwright-core.
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateTOTP } from '@oslojs/otp';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/postgres.ts';
import { adminPost, bootstrapOperator, startDevStack, type DevStack } from './dev-stack-helpers.ts';

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const hasChromium = existsSync(CHROMIUM);
const PASSWORD = 'correct horse battery staple';

interface Callback {
  url: URL;
}

/** The relying party's redirect target: records every URL the browser lands on. */
async function startRelyingPartyServer(): Promise<{
  server: Server;
  origin: string;
  landed: Callback[];
}> {
  const port = await freePort();
  const landed: Callback[] = [];
  const server = createServer((request, response) => {
    landed.push({ url: new URL(request.url ?? '/', `http://127.0.0.1:${port}`) });
    response.writeHead(200, { 'Content-Type': 'text/plain' }).end('relying party');
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { server, origin: `http://127.0.0.1:${port}`, landed };
}

async function waitForLanding(
  landed: Callback[],
  path: string,
  after: number,
  page?: Page,
): Promise<URL> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const hit = landed.slice(after).find((entry) => entry.url.pathname === path);
    if (hit !== undefined) return hit.url;
    await new Promise((r) => setTimeout(r, 50));
  }
  const where =
    page === undefined ? '' : `; it is at ${page.url()}: ${await page.locator('main').innerText()}`;
  throw new Error(`the browser never reached ${path}${where}`);
}

function totpNow(secret: string): string {
  return generateTOTP(decodeBase32IgnorePadding(secret), 30, 6);
}

const currentStep = (): number => Math.floor(Date.now() / 30_000);

describe.skipIf(process.platform === 'win32')('OpenID Connect relying parties', () => {
  let stack: DevStack | undefined;
  let browser: Browser | undefined;
  let rp: Awaited<ReturnType<typeof startRelyingPartyServer>> | undefined;
  let issuer = '';
  let operatorCookie = '';
  const email = `rp-${Date.now().toString(36)}@example.com`;
  let totpSecret = '';
  let recoveryCodes: string[] = [];
  /** The last TOTP step spent: a code is accepted once, so the next sign-in waits for a new one. */
  let usedStep = 0;

  beforeAll(async () => {
    if (!hasChromium) {
      if (IN_CI) throw new Error(`${CHROMIUM} is missing and CI=true: install Debian's chromium`);
      return;
    }
    stack = await startDevStack({ readyWithinMs: 150_000 });
    if (stack.readyStatus !== 200)
      throw new Error(`the dev stack did not come up:\n${stack.output()}`);
    issuer = `${stack.base}/t/default`;
    operatorCookie = await bootstrapOperator(stack);
    rp = await startRelyingPartyServer();

    // The end user: registered and enrolled in TOTP through the JSON API.
    const register = await fetch(`${issuer}/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: stack.base },
      body: JSON.stringify({ email, password: PASSWORD, name: 'Relying Party User' }),
    });
    expect(register.status, await register.clone().text()).toBe(201);
    const cookie = (register.headers.get('set-cookie') ?? '').split(';')[0]!;
    const jsonWithCookie = (path: string, body: unknown) =>
      fetch(`${issuer}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: stack!.base, Cookie: cookie },
        body: JSON.stringify(body),
      });
    const enrol = await jsonWithCookie('/v1/auth/mfa/totp/enroll', {});
    expect(enrol.status, await enrol.clone().text()).toBe(200);
    totpSecret = ((await enrol.json()) as { secret: string }).secret;
    usedStep = currentStep();
    const verify = await jsonWithCookie('/v1/auth/mfa/totp/verify', { code: totpNow(totpSecret) });
    expect(verify.status, await verify.clone().text()).toBe(200);
    recoveryCodes = ((await verify.json()) as { recovery_codes: string[] }).recovery_codes;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (rp === undefined ? done() : rp.server.close(() => done())));
    stack?.cleanup();
  }, 30_000);

  async function createClient(
    body: Record<string, unknown>,
  ): Promise<{ client_id: string; client_secret?: string }> {
    const response = await adminPost(stack!, '/tenants/default/clients', body, operatorCookie);
    expect(response.status, await response.clone().text()).toBe(201);
    const created = (await response.json()) as {
      client: { client_id: string };
      client_secret?: string;
    };
    return { client_id: created.client.client_id, client_secret: created.client_secret };
  }

  /** A TOTP code of a step not used yet (waits up to 30 s for the next one). */
  async function freshTOTP(): Promise<string> {
    while (currentStep() <= usedStep) await new Promise((r) => setTimeout(r, 250));
    usedStep = currentStep();
    return totpNow(totpSecret);
  }

  /** Signs in on the hosted pages: password, then the second factor (TOTP or a recovery code). */
  async function signInOnHostedPages(page: Page, factor: 'totp' | 'recovery_code'): Promise<void> {
    await page.waitForURL(/\/t\/default\/login\?/);
    expect(await page.getByLabel(/email/i).inputValue()).toBe(email); // from login_hint
    await page.getByLabel(/password/i).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/t\/default\/mfa/);
    await page
      .getByLabel('Verification code')
      .fill(factor === 'totp' ? await freshTOTP() : recoveryCodes.shift()!);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
  }

  it.skipIf(!hasChromium && !IN_CI)(
    'openid-client: discovery, code + PKCE through the hosted pages with TOTP and consent, userinfo, refresh, introspection, revocation, logout',
    async () => {
      const { client_id, client_secret } = await createClient({
        name: 'Example RP',
        type: 'confidential',
        redirect_uris: [`${rp!.origin}/callback`],
        post_logout_redirect_uris: [`${rp!.origin}/signed-out`],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        first_party: false,
      });
      expect(client_secret).toBeTruthy();
      const config = await client.discovery(
        new URL(issuer),
        client_id,
        undefined,
        client.ClientSecretBasic(client_secret!),
        { execute: [client.allowInsecureRequests] },
      );
      expect(config.serverMetadata().issuer).toBe(issuer);
      expect(config.serverMetadata().code_challenge_methods_supported).toEqual(['S256']);

      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const authorizationURL = client.buildAuthorizationUrl(config, {
        redirect_uri: `${rp!.origin}/callback`,
        scope: 'openid profile email offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        login_hint: email,
      });

      const context = await browser!.newContext();
      const page = await context.newPage();
      const before = rp!.landed.length;
      await page.goto(authorizationURL.href);
      await signInOnHostedPages(page, 'totp');
      // A third-party client: the consent screen names it and the scopes.
      await page.waitForURL(/\/t\/default\/consent/);
      await expect(page.getByText('Example RP').first().isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const callback = await waitForLanding(rp!.landed, '/callback', before, page);

      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      expect(claims).toMatchObject({ iss: issuer, aud: client_id, nonce, email });
      expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
      expect(typeof claims.sid).toBe('string');
      expect(typeof claims.auth_time).toBe('number');
      expect(tokens.refresh_token).toBeTruthy();

      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      expect(userinfo).toMatchObject({ sub: claims.sub, email, email_verified: false });

      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

      const introspected = await client.tokenIntrospection(config, refreshed.access_token);
      expect(introspected).toMatchObject({ active: true, client_id, sub: claims.sub });
      // Revoking the refresh token ends the grant: it and its access tokens introspect inactive.
      await client.tokenRevocation(config, refreshed.refresh_token!);
      expect((await client.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(
        false,
      );
      expect((await client.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
      // The rotated-away refresh token is dead too.
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toThrow();

      // The session the browser holds lets a second authorization through without any page.
      const again = rp!.landed.length;
      const silent = client.buildAuthorizationUrl(config, {
        redirect_uri: `${rp!.origin}/callback`,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        prompt: 'none',
      });
      await page.goto(silent.href);
      expect(
        (await waitForLanding(rp!.landed, '/callback', again, page)).searchParams.get('code'),
      ).toBeTruthy();

      // RP-initiated logout ends the session and returns to the registered URI with the state.
      const out = rp!.landed.length;
      const logoutURL = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${rp!.origin}/signed-out`,
        state: 'bye',
      });
      await page.goto(logoutURL.href);
      const signedOut = await waitForLanding(rp!.landed, '/signed-out', out, page);
      expect(signedOut.searchParams.get('state')).toBe('bye');
      // prompt=none now finds no session.
      const none = rp!.landed.length;
      await page.goto(silent.href);
      const refused = await waitForLanding(rp!.landed, '/callback', none, page);
      expect(refused.searchParams.get('error')).toBe('login_required');
      expect(refused.searchParams.get('state')).toBe(state);

      const service = await client.clientCredentialsGrant(config, {});
      expect(service.access_token).toBeTruthy();
      expect(service.refresh_token).toBeUndefined();
      expect(service.id_token).toBeUndefined();
      await context.close();
    },
    180_000,
  );

  it.skipIf(!hasChromium && !IN_CI)(
    'oauth4webapi: a public client completes the code flow with PKCE and validates the ID token',
    async () => {
      const { client_id } = await createClient({
        name: 'Native App',
        type: 'public',
        redirect_uris: [`${rp!.origin}/native`],
        grant_types: ['authorization_code'],
        scopes: ['openid', 'email'],
        first_party: true,
      });
      const issuerURL = new URL(issuer);
      const as = await oauth.processDiscoveryResponse(
        issuerURL,
        await oauth.discoveryRequest(issuerURL, { [oauth.allowInsecureRequests]: true }),
      );
      const app: oauth.Client = { client_id };
      const verifier = oauth.generateRandomCodeVerifier();
      const nonce = oauth.generateRandomNonce();
      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('client_id', client_id);
      url.searchParams.set('redirect_uri', `${rp!.origin}/native`);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', 'openid email');
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('login_hint', email);
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');

      const context = await browser!.newContext();
      const page = await context.newPage();
      const before = rp!.landed.length;
      await page.goto(url.href);
      await signInOnHostedPages(page, 'recovery_code');
      // First-party: no consent screen.
      const callback = await waitForLanding(rp!.landed, '/native', before, page);
      const params = oauth.validateAuthResponse(as, app, callback, oauth.expectNoState);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        app,
        oauth.None(),
        params,
        `${rp!.origin}/native`,
        verifier,
        { [oauth.allowInsecureRequests]: true },
      );
      const result = await oauth.processAuthorizationCodeResponse(as, app, response, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      const claims = oauth.getValidatedIdTokenClaims(result)!;
      expect(claims).toMatchObject({ iss: issuer, aud: client_id, email });
      await context.close();
    },
    180_000,
  );
});
