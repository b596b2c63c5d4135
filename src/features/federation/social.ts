// Google and GitHub through arctic's OAuth2Client with each provider's endpoints (arctic's
// Google and GitHub classes fix the same URLs; the client class lets DEV_SOCIAL_BASE_URL, which
// production refuses, point them at the tests' loopback fakes).
import {
  ArcticFetchError,
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  type OAuth2Tokens,
} from 'arctic';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { AppError } from '../../errors.ts';
import type { Provider } from './providers-repo.ts';
import { UPSTREAM_TIMEOUT_MS, type UpstreamDeps, type UpstreamIdentity } from './upstream.ts';

interface SocialEndpoints {
  authorize: string;
  token: string;
  /** Google: the JWKS and the issuers its ID tokens carry. */
  jwks?: string;
  issuers?: string[];
  /** GitHub: the REST API root (/user, /user/emails). */
  api?: string;
}

/** Sources: developers.google.com/identity/openid-connect/openid-connect (discovery document). */
const GOOGLE: SocialEndpoints = {
  authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  jwks: 'https://www.googleapis.com/oauth2/v3/certs',
  issuers: ['https://accounts.google.com', 'accounts.google.com'],
};

/** Source: docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps. */
const GITHUB: SocialEndpoints = {
  authorize: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  api: 'https://api.github.com',
};

function endpointsOf(deps: UpstreamDeps, kind: 'google' | 'github'): SocialEndpoints {
  const base = deps.config.dev.socialBaseURL ?? null;
  const fixed = kind === 'google' ? GOOGLE : GITHUB;
  if (base === null || deps.config.environment === 'production') return fixed;
  const root = `${base.replace(/\/$/, '')}/${kind}`;
  return kind === 'google'
    ? {
        authorize: `${root}/authorize`,
        token: `${root}/token`,
        jwks: `${root}/jwks`,
        issuers: [root],
      }
    : { authorize: `${root}/authorize`, token: `${root}/token`, api: `${root}/api` };
}

/** arctic's fetch takes no signal: the deadline races it, and a miss is the provider's 503. */
async function withinDeadline<T>(run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError('provider_unavailable', 'the identity provider did not answer')),
      UPSTREAM_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof OAuth2RequestError)
      throw new AppError('provider_error', 'the identity provider refused the exchange', {
        cause: error,
      });
    if (error instanceof joseErrors.JOSEError)
      throw new AppError('invalid_token', 'the identity provider’s ID token is not valid', {
        cause: error,
      });
    if (error instanceof ArcticFetchError)
      throw new AppError('provider_unavailable', 'the identity provider did not answer', {
        cause: error,
      });
    throw new AppError('provider_error', 'the identity provider answered unexpectedly', {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

export function socialAuthorizationURL(
  deps: UpstreamDeps,
  provider: Provider,
  params: { state: string; nonce: string; codeVerifier: string; redirectURI: string },
): URL {
  const kind = provider.kind as 'google' | 'github';
  const client = new OAuth2Client(provider.clientId, null, params.redirectURI);
  const url = client.createAuthorizationURLWithPKCE(
    endpointsOf(deps, kind).authorize,
    params.state,
    CodeChallengeMethod.S256,
    params.codeVerifier,
    provider.scopes,
  );
  if (kind === 'google') url.searchParams.set('nonce', params.nonce);
  return url;
}

async function getJSON(url: string, accessToken: string): Promise<unknown> {
  const response = await fetch(url, {
    headers: {
      Authorization: `Bearer ${accessToken}`,
      Accept: 'application/vnd.github+json',
      'User-Agent': 'Gatehouse',
    },
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
  });
  if (!response.ok) throw new AppError('provider_error', 'the provider’s API refused the token');
  return response.json();
}

/** GitHub: who /user says, and the primary address with /user/emails' verified flag for it. */
async function githubIdentity(
  endpoints: SocialEndpoints,
  tokens: OAuth2Tokens,
): Promise<UpstreamIdentity> {
  const token = tokens.accessToken();
  const user = (await getJSON(`${endpoints.api}/user`, token)) as { id?: unknown; name?: unknown };
  if (typeof user.id !== 'number' && typeof user.id !== 'string')
    throw new AppError('provider_error', 'GitHub named no user');
  const emails = (await getJSON(`${endpoints.api}/user/emails`, token)) as {
    email?: unknown;
    primary?: unknown;
    verified?: unknown;
  }[];
  const primary = Array.isArray(emails) ? emails.find((e) => e.primary === true) : undefined;
  return {
    subject: String(user.id),
    email: typeof primary?.email === 'string' ? primary.email : null,
    emailVerified: primary?.verified === true,
    name: typeof user.name === 'string' ? user.name.slice(0, 200) : null,
  };
}

/** Google: the ID token, its signature checked against Google's JWKS, issuer, audience, nonce. */
async function googleIdentity(
  deps: UpstreamDeps,
  endpoints: SocialEndpoints,
  provider: Provider,
  tokens: OAuth2Tokens,
  nonce: string,
): Promise<UpstreamIdentity> {
  const response = await fetch(endpoints.jwks!, {
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
  });
  if (!response.ok) throw new AppError('provider_unavailable', 'the JWKS did not answer');
  const jwks = createLocalJWKSet((await response.json()) as JSONWebKeySet);
  const { payload } = await jwtVerify(tokens.idToken(), jwks, {
    issuer: endpoints.issuers!,
    audience: provider.clientId,
    algorithms: ['RS256', 'ES256'],
    currentDate: deps.clock.now(),
  });
  if (payload.nonce !== nonce)
    throw new AppError('invalid_token', 'the ID token’s nonce is not ours');
  if (typeof payload.sub !== 'string' || payload.sub === '')
    throw new AppError('invalid_token', 'the ID token names no subject');
  return {
    subject: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : null,
    emailVerified: payload.email_verified === true,
    name: typeof payload.name === 'string' ? payload.name.slice(0, 200) : null,
  };
}

export async function completeSocial(
  deps: UpstreamDeps,
  provider: Provider,
  params: {
    callbackURL: URL;
    nonce: string;
    codeVerifier: string;
    redirectURI: string;
    clientSecret: string;
  },
): Promise<UpstreamIdentity> {
  const query = params.callbackURL.searchParams;
  if (query.has('error'))
    throw new AppError('access_denied', 'the identity provider did not sign the user in');
  const code = query.get('code');
  if (code === null || code.length > 2048)
    throw new AppError('invalid_request', 'the authorization response has no code');
  const kind = provider.kind as 'google' | 'github';
  const endpoints = endpointsOf(deps, kind);
  const client = new OAuth2Client(provider.clientId, params.clientSecret, params.redirectURI);
  return withinDeadline(async () => {
    const tokens = await client.validateAuthorizationCode(
      endpoints.token,
      code,
      params.codeVerifier,
    );
    return kind === 'google'
      ? googleIdentity(deps, endpoints, provider, tokens, params.nonce)
      : githubIdentity(endpoints, tokens);
  });
}
