// Upstream identity providers for the federation tests, run in Node by the worker project's
// global setup (workerd cannot start servers):
//  - a real OpenID Provider: panva's oidc-provider (OpenID Certified), open dynamic
//    registration so each test registers a client for its own tenant's callback, and an
//    interaction endpoint that signs in the account the test queued for that client (or answers
//    access_denied when none is queued: the "provider error" case);
//  - a deliberately wrong provider ("rogue"), for the ID token checks a certified provider never
//    fails: it signs ID tokens with a wrong issuer, audience or nonce, or already expired.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface UpstreamAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface Upstreams {
  issuer: string;
  rogueIssuer: string;
  /** Fake Google at {socialBaseURL}/google, fake GitHub at {socialBaseURL}/github. */
  socialBaseURL: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function startRealProvider(): Promise<{ issuer: string; server: Server }> {
  /** client_id → the account the next interaction signs in. */
  const queued = new Map<string, UpstreamAccount>();
  const accounts = new Map<string, UpstreamAccount>();
  let provider: Provider | null = null;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/__test/queue-login') {
        const body = JSON.parse(await readBody(req)) as {
          client_id: string;
          account: UpstreamAccount | null;
        };
        if (body.account === null) queued.delete(body.client_id);
        else {
          queued.set(body.client_id, body.account);
          accounts.set(body.account.sub, body.account);
        }
        return json(res, 200, { ok: true });
      }
      if (url.pathname.startsWith('/interaction/')) {
        const details = await provider!.interactionDetails(req, res);
        const clientId = String(details.params.client_id);
        const account = queued.get(clientId);
        if (account === undefined) {
          return provider!.interactionFinished(req, res, {
            error: 'access_denied',
            error_description: 'the user declined',
          });
        }
        const grant = new provider!.Grant({ accountId: account.sub, clientId });
        grant.addOIDCScope(String(details.params.scope));
        const grantId = await grant.save();
        return provider!.interactionFinished(
          req,
          res,
          { login: { accountId: account.sub }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        );
      }
      provider!.callback()(req, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
    });
  });
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      if (account === undefined) return undefined;
      return { accountId: sub, claims: () => ({ ...account }) };
    },
    cookies: { keys: ['gatehouse-federation-test-cookie-key'] },
  });
  // Errors the provider answers with are the tests' business; keep them off the console.
  provider.on('server_error', () => undefined);
  return { issuer, server };
}

export type RogueMode = 'ok' | 'wrong_issuer' | 'wrong_audience' | 'wrong_nonce' | 'expired';

/**
 * A minimal provider that does just enough OAuth to reach the ID token check: discovery, JWKS,
 * an authorization endpoint that redirects straight back with a code carrying the nonce, and a
 * token endpoint whose ID token is wrong in the way the client's queued mode says.
 */
async function startRogueProvider(): Promise<{ issuer: string; server: Server }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'rogue', alg: 'ES256', use: 'sig' };
  const modes = new Map<string, RogueMode>();
  /** code → what the authorization request said. */
  const codes = new Map<string, { clientId: string; nonce: string }>();
  let issuer = '';
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/__test/mode') {
        const body = JSON.parse(await readBody(req)) as { client_id: string; mode: RogueMode };
        modes.set(body.client_id, body.mode);
        return json(res, 200, { ok: true });
      }
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
        });
      }
      if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const code = crypto.randomUUID();
        codes.set(code, {
          clientId: url.searchParams.get('client_id') ?? '',
          nonce: url.searchParams.get('nonce') ?? '',
        });
        const back = new URL(url.searchParams.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { Location: back.href });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        const form = new URLSearchParams(await readBody(req));
        const request = codes.get(form.get('code') ?? '');
        if (request === undefined) return json(res, 400, { error: 'invalid_grant' });
        codes.delete(form.get('code') ?? '');
        const mode = modes.get(request.clientId) ?? 'ok';
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({
          nonce: mode === 'wrong_nonce' ? 'not-the-nonce' : request.nonce,
          email: 'rogue@example.com',
          email_verified: true,
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'rogue' })
          .setIssuer(mode === 'wrong_issuer' ? 'https://someone-else.example' : issuer)
          .setAudience(mode === 'wrong_audience' ? 'another-client' : request.clientId)
          .setSubject('rogue-subject')
          .setIssuedAt(mode === 'expired' ? now - 7200 : now)
          .setExpirationTime(mode === 'expired' ? now - 3600 : now + 300)
          .sign(privateKey);
        return json(res, 200, {
          access_token: 'rogue-access-token',
          token_type: 'Bearer',
          expires_in: 300,
          id_token: idToken,
        });
      }
      json(res, 404, { error: 'not_found' });
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
    });
  });
  const port = await listen(server);
  issuer = `http://127.0.0.1:${port}`;
  return { issuer, server };
}

/**
 * Loopback stand-ins that speak Google's and GitHub's token and user endpoints as arctic and
 * Gatehouse call them: PKCE checked at the token endpoint, client authentication by HTTP Basic,
 * Google's ID token signed and served through a JWKS, GitHub's /user and /user/emails (whose
 * primary address may be unverified). The account each client signs in is queued by the test.
 */
async function startSocialFakes(): Promise<{ baseURL: string; server: Server }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'google-fake', alg: 'ES256', use: 'sig' };
  const queued = new Map<string, UpstreamAccount & { primary_verified?: boolean }>();
  const codes = new Map<
    string,
    { clientId: string; nonce: string; challenge: string; redirectURI: string }
  >();
  const tokens = new Map<string, UpstreamAccount & { primary_verified?: boolean }>();
  let base = '';
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, kind, ...rest] = url.pathname.split('/');
      const path = rest.join('/');
      if (req.method === 'POST' && url.pathname === '/__test/queue-login') {
        const body = JSON.parse(await readBody(req)) as {
          client_id: string;
          account: UpstreamAccount;
        };
        queued.set(body.client_id, body.account);
        return json(res, 200, { ok: true });
      }
      if (kind === 'google' && path === 'jwks') return json(res, 200, { keys: [jwk] });
      if (path === 'authorize') {
        const code = crypto.randomUUID();
        const redirectURI = url.searchParams.get('redirect_uri') ?? '';
        codes.set(code, {
          clientId: url.searchParams.get('client_id') ?? '',
          nonce: url.searchParams.get('nonce') ?? '',
          challenge: url.searchParams.get('code_challenge') ?? '',
          redirectURI,
        });
        const back = new URL(redirectURI);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { Location: back.href });
        return res.end();
      }
      if (req.method === 'POST' && path === 'token') {
        const form = new URLSearchParams(await readBody(req));
        const basic = Buffer.from(
          (req.headers.authorization ?? '').replace(/^Basic /, ''),
          'base64',
        ).toString();
        const clientId = decodeURIComponent(basic.split(':')[0] ?? '');
        const request = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        if (
          request === undefined ||
          request.clientId !== clientId ||
          request.challenge !== challenge ||
          request.redirectURI !== form.get('redirect_uri')
        )
          return json(res, 400, { error: 'invalid_grant' });
        const account = queued.get(clientId);
        if (account === undefined) return json(res, 400, { error: 'access_denied' });
        const accessToken = crypto.randomUUID();
        tokens.set(accessToken, account);
        if (kind === 'github')
          return json(res, 200, {
            access_token: accessToken,
            token_type: 'bearer',
            scope: 'read:user,user:email',
          });
        const idToken = await new SignJWT({
          nonce: request.nonce,
          email: account.email,
          email_verified: account.email_verified ?? false,
          name: account.name,
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'google-fake' })
          .setIssuer(`${base}/google`)
          .setAudience(clientId)
          .setSubject(account.sub)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
        return json(res, 200, {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: 300,
          id_token: idToken,
        });
      }
      if (kind === 'github' && path.startsWith('api/')) {
        const account = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        if (account === undefined) return json(res, 401, { message: 'Bad credentials' });
        if (path === 'api/user')
          return json(res, 200, {
            id: Number(account.sub),
            login: `u${account.sub}`,
            name: account.name ?? null,
          });
        if (path === 'api/user/emails')
          return json(res, 200, [
            { email: `${account.sub}@users.noreply.github.com`, primary: false, verified: true },
            { email: account.email, primary: true, verified: account.email_verified ?? false },
          ]);
      }
      json(res, 404, { error: 'not_found' });
    })().catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
    });
  });
  const port = await listen(server);
  base = `http://127.0.0.1:${port}`;
  return { baseURL: base, server };
}

export async function startUpstreams(): Promise<Upstreams> {
  const real = await startRealProvider();
  const rogue = await startRogueProvider();
  const social = await startSocialFakes();
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    issuer: real.issuer,
    rogueIssuer: rogue.issuer,
    socialBaseURL: social.baseURL,
    close: async () => {
      await close(social.server);
      await close(real.server);
      await close(rogue.server);
    },
  };
}
