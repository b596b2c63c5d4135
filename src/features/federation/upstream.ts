// The upstream half of federated sign-in: discovery, the authorization URL, the code exchange
// and the ID token's validation, through oauth4webapi (panva), with the signature checked by
// jose against the provider's JWKS (oauth4webapi trusts the TLS channel for that by design).
import * as oauth from 'oauth4webapi';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { Provider } from './providers-repo.ts';

/** Each upstream call (discovery, token, JWKS) must answer within this, else 503. */
export const UPSTREAM_TIMEOUT_MS = 5_000;

/** What Gatehouse needs from any provider. */
export interface UpstreamIdentity {
  subject: string;
  email: string | null;
  /** What the provider says; whether it is believed is the caller's (provider setting). */
  emailVerified: boolean;
  name: string | null;
}

export type UpstreamDeps = Pick<Deps, 'config' | 'clock'>;

function requestOptions(deps: UpstreamDeps): {
  signal: AbortSignal;
  [oauth.allowInsecureRequests]?: boolean;
} {
  // Plain http only off production: the tests' upstream runs on loopback.
  const insecure = deps.config.environment !== 'production';
  return {
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    [oauth.allowInsecureRequests]: insecure,
  };
}

/** Network failure or a missed deadline: the provider is unavailable (503), never a 500. */
function unavailable(error: unknown): AppError {
  return new AppError('provider_unavailable', 'the identity provider did not answer', {
    cause: error,
  });
}

async function upstreamCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof oauth.ResponseBodyError)
      throw new AppError('provider_error', 'the identity provider refused the exchange', {
        cause: error,
      });
    if (error instanceof oauth.OperationProcessingError || error instanceof joseErrors.JOSEError) {
      const code = (error as { code?: string }).code ?? '';
      // Claims, timestamps and signatures of the ID token: the token is not acceptable.
      if (
        error instanceof joseErrors.JOSEError ||
        code === oauth.JWT_CLAIM_COMPARISON ||
        code === oauth.JWT_TIMESTAMP_CHECK ||
        code === oauth.JSON_ATTRIBUTE_COMPARISON ||
        code === oauth.KEY_SELECTION
      )
        throw new AppError('invalid_token', 'the identity provider’s ID token is not valid', {
          cause: error,
        });
      throw new AppError('provider_error', 'the identity provider answered unexpectedly', {
        cause: error,
      });
    }
    throw unavailable(error);
  }
}

async function discover(deps: UpstreamDeps, issuer: string): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  return upstreamCall(async () =>
    oauth.processDiscoveryResponse(
      url,
      await oauth.discoveryRequest(url, { ...requestOptions(deps), algorithm: 'oidc' }),
    ),
  );
}

function clientOf(deps: UpstreamDeps, provider: Provider): oauth.Client {
  // The injected clock drives oauth4webapi's exp/iat checks (its `clockSkew` is that offset).
  return {
    client_id: provider.clientId,
    [oauth.clockSkew]: Math.round((deps.clock.now().getTime() - Date.now()) / 1000),
  };
}

export interface AuthorizationParams {
  state: string;
  nonce: string;
  codeChallenge: string;
  redirectURI: string;
}

/** The provider's authorization URL with state, PKCE (S256) and nonce. */
export async function authorizationURL(
  deps: UpstreamDeps,
  provider: Provider,
  params: AuthorizationParams,
): Promise<URL> {
  const as = await discover(deps, provider.issuer!);
  if (as.authorization_endpoint === undefined)
    throw new AppError('provider_error', 'the identity provider has no authorization endpoint');
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', provider.clientId);
  url.searchParams.set('redirect_uri', params.redirectURI);
  url.searchParams.set('scope', provider.scopes.join(' '));
  url.searchParams.set('state', params.state);
  url.searchParams.set('nonce', params.nonce);
  url.searchParams.set('code_challenge', params.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url;
}

export interface CallbackParams {
  callbackURL: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectURI: string;
  clientSecret: string;
}

/**
 * The callback: validates the authorization response (state, and `iss` where the provider
 * sends it), exchanges the code with PKCE, validates the ID token (issuer, audience, nonce,
 * expiry through oauth4webapi; the signature through the JWKS with jose, issuer and audience
 * pinned) and returns who the provider says signed in.
 */
export async function completeAuthorization(
  deps: UpstreamDeps,
  provider: Provider,
  params: CallbackParams,
): Promise<UpstreamIdentity> {
  const as = await discover(deps, provider.issuer!);
  const client = clientOf(deps, provider);
  let callback: URLSearchParams;
  try {
    callback = oauth.validateAuthResponse(as, client, params.callbackURL, params.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError)
      throw new AppError('access_denied', 'the identity provider did not sign the user in', {
        cause: error,
      });
    throw new AppError('invalid_request', 'the authorization response is not valid', {
      cause: error,
    });
  }
  const tokens = await upstreamCall(async () =>
    oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(params.clientSecret),
        callback,
        params.redirectURI,
        params.codeVerifier,
        requestOptions(deps),
      ),
      { expectedNonce: params.nonce, requireIdToken: true },
    ),
  );
  const idToken = tokens.id_token!;
  const claims = await upstreamCall(async () => {
    if (as.jwks_uri === undefined) throw new AppError('provider_error', 'no jwks_uri');
    const response = await fetch(as.jwks_uri, { signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    if (!response.ok) throw new AppError('provider_unavailable', 'the JWKS did not answer');
    const jwks = createLocalJWKSet((await response.json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(idToken, jwks, {
      issuer: as.issuer,
      audience: provider.clientId,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      currentDate: deps.clock.now(),
    });
    return payload;
  });
  if (typeof claims.sub !== 'string' || claims.sub === '')
    throw new AppError('invalid_token', 'the ID token names no subject');
  let source: Record<string, unknown> = claims;
  // Many providers (oidc-provider's default among them) put scope claims in userinfo only,
  // not in an ID token that comes with an access token (OIDC Core §5.4).
  if (claims[provider.emailClaim] === undefined && as.userinfo_endpoint !== undefined) {
    const subject = claims.sub;
    source = await upstreamCall(async () => ({
      ...(await oauth.processUserInfoResponse(
        as,
        client,
        subject,
        await oauth.userInfoRequest(as, client, tokens.access_token, requestOptions(deps)),
      )),
    }));
  }
  const email = source[provider.emailClaim];
  return {
    subject: claims.sub,
    email: typeof email === 'string' && email.length <= 254 ? email : null,
    emailVerified: source.email_verified === true,
    name: typeof source.name === 'string' ? source.name.slice(0, 200) : null,
  };
}
