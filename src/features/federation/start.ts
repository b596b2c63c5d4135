// Starting a federated sign-in or link: one round trip, then 302 to the provider.
import * as oauth from 'oauth4webapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { TenantScope } from '../tenants/context.ts';
import { insertState } from './flow-repo.ts';
import { sealText, verifierContext } from './secret.ts';
import { socialAuthorizationURL } from './social.ts';
import { authorizationURL } from './upstream.ts';

/** A started sign-in lives ten minutes: long enough for a provider's login and consent. */
export const STATE_TTL_SECONDS = 600;

export interface StartInput {
  providerName: string;
  redirectTo: string | null;
  intent: 'sign_in' | 'link';
  /** intent=link: the session cookie's token (checked inside the state's insert). */
  sessionToken: string | null;
  /** This tenant's callback URL for the provider (what the admin registered upstream). */
  callbackURL: string;
}

export interface Started {
  location: URL;
  /** The browser-binding secret for the short-lived cookie; only its hash is stored. */
  browserSecret: string;
}

/** An absolute http(s) URL without userinfo or fragment, and its origin; null when absent. */
function parseRedirectTo(value: string | null): { url: string; origin: string } | null {
  if (value === null || value === '') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError('invalid_request', 'redirect_to must be an absolute URL');
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.hash !== '' ||
    value.length > 2048
  )
    throw new AppError(
      'invalid_request',
      'redirect_to must be an http(s) URL without userinfo or fragment',
    );
  return { url: url.href, origin: url.origin };
}

/**
 * One round trip: the state row (hashed state, hashed browser secret, sealed PKCE verifier,
 * nonce, intent, redirect_to), written only for an enabled provider and an allowed redirect_to.
 * The provider's discovery document is a subrequest.
 */
export async function startFederation(
  deps: Deps,
  scope: TenantScope,
  input: StartInput,
): Promise<Started> {
  const redirect = parseRedirectTo(input.redirectTo);
  // This deployment's own origin (the hosted pages, back into authorize) is always allowed.
  const ownOrigin = redirect !== null && redirect.origin === deps.config.publicBaseURL.origin;
  const state = encodeBase64url(deps.random.bytes(32));
  const browserSecret = encodeBase64url(deps.random.bytes(32));
  const nonce = encodeBase64url(deps.random.bytes(32));
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const id = crypto.randomUUID();
  const now = deps.clock.now();
  const started = await insertState(deps.db, scope.ref, input.providerName, {
    id,
    stateHash: await hashToken(state),
    browserHash: await hashToken(browserSecret),
    codeVerifierSealed: await sealText(deps.config.secretKey, codeVerifier, verifierContext(id)),
    nonce,
    intent: input.intent,
    sessionHash: input.intent === 'link' ? await hashToken(input.sessionToken ?? '') : null,
    redirectTo: redirect?.url ?? '',
    redirectOrigin: ownOrigin ? null : (redirect?.origin ?? null),
    now,
    expiresAt: new Date(now.getTime() + STATE_TTL_SECONDS * 1000),
  });
  if (started.tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  scope.tenant = started.tenant;
  if (input.intent === 'link' && !started.signedIn)
    throw new AppError('unauthorized', 'no valid session');
  if (started.provider === null) throw new AppError('not_found', 'no such identity provider');
  if (!started.redirectAllowed)
    throw new AppError('invalid_request', 'redirect_to is not one of the tenant’s allowed origins');
  const location =
    started.provider.kind === 'oidc'
      ? await authorizationURL(deps, started.provider, {
          state,
          nonce,
          codeChallenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
          redirectURI: input.callbackURL,
        })
      : socialAuthorizationURL(deps, started.provider, {
          state,
          nonce,
          codeVerifier,
          redirectURI: input.callbackURL,
        });
  return { location, browserSecret };
}
