import * as oauth from 'oauth4webapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { rootKeysOf } from '../../env.ts';
import { normalizeEmail, type PublicUser } from '../accounts/service.ts';
import {
  prepareMfaToken,
  type SecondFactorMethod,
  type SecondFactorRequired,
} from '../mfa/login-gate.ts';
import { AMR, startSession, type ClientInfo } from '../sessions/service.ts';
import { issuerURL, type Tenant, type TenantScope } from '../tenants/context.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import {
  consumeState,
  finishFederation,
  insertState,
  type FederatedAction,
  type FederatedOutcome,
  type FederatedOutcomeInput,
} from './flow-repo.ts';
import { openText, providerSecretContext, sealText, verifierContext } from './secret.ts';
import { completeSocial, socialAuthorizationURL } from './social.ts';
import { authorizationURL, completeAuthorization } from './upstream.ts';

const UNIQUE_VIOLATION = '23505';

/**
 * The linking statement, raced: two first sign-ins of one identity (or one address) both decide
 * 'created' and the loser's insert meets the winner's row. Its statement wrote nothing, so it is
 * run once more and now decides against the committed winner (the same user signs in, or the
 * address's rules apply): a third round trip, only for the loser of a race. A second collision
 * is a clean 409, never a 500.
 */
async function decideOnce(deps: Deps, input: FederatedOutcomeInput): Promise<FederatedOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await finishFederation(deps.db, input);
    } catch (error) {
      if (pgErrorCode(error) !== UNIQUE_VIOLATION) throw error;
      if (attempt === 2)
        throw new AppError('conflict', 'this identity is being signed in concurrently; try again', {
          cause: error,
        });
    }
  }
}

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

export type CallbackResult =
  | {
      kind: 'session';
      tenant: Tenant;
      token: string;
      expiresAt: Date;
      redirectTo: string;
      user: PublicUser;
    }
  | { kind: 'mfa'; tenant: Tenant; answer: SecondFactorRequired; redirectTo: string }
  | { kind: 'linked'; tenant: Tenant; redirectTo: string };

const REFUSALS: Partial<Record<FederatedAction, [Parameters<typeof refuse>[0], string]>> = {
  identity_in_use: ['identity_in_use', 'this identity is linked to another account'],
  account_exists: [
    'account_exists',
    'an account with this email exists: sign in to it and link this provider from your account',
  ],
  registration_closed: ['registration_closed', 'registration is closed'],
  email_required: ['email_not_verified', 'the provider did not give a verified email address'],
  disabled: ['access_denied', 'this account cannot sign in'],
};

function refuse(
  code:
    | 'identity_in_use'
    | 'account_exists'
    | 'registration_closed'
    | 'email_not_verified'
    | 'access_denied',
  text: string,
): never {
  throw new AppError(code, text);
}

function defaultRedirect(deps: Deps, tenant: Tenant): string {
  return (
    tenant.settings.federation.defaultRedirectURL ??
    `${issuerURL(deps.config, tenant.slug)}/signed-in`
  );
}

/**
 * Two round trips: the state is consumed (single use, bound to the browser), then one
 * statement applies the linking rules and starts the session or the MFA step. The provider's
 * discovery, token endpoint and JWKS are subrequests. Every refusal writes nothing beyond the
 * consumed state.
 */
export async function finishCallback(
  deps: Deps,
  scope: TenantScope,
  input: {
    providerName: string;
    callbackURL: URL;
    registeredCallbackURL: string;
    state: string;
    browserSecret: string;
  },
  client: ClientInfo,
): Promise<CallbackResult> {
  const now = deps.clock.now();
  const consumed = await consumeState(
    deps.db,
    scope.ref,
    input.providerName,
    { state: await hashToken(input.state), browser: await hashToken(input.browserSecret) },
    now,
  );
  const { tenant, provider, state } = consumed;
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  scope.tenant = tenant;
  if (provider === null || state === null)
    throw new AppError('invalid_state', 'unknown, used, expired or foreign sign-in state');
  if (!provider.enabled) throw new AppError('access_denied', 'this identity provider is disabled');
  const keys = rootKeysOf(deps.config);
  const codeVerifier = await openText(keys, state.codeVerifierSealed, verifierContext(state.id));
  const clientSecret = await openText(
    keys,
    provider.clientSecretSealed,
    providerSecretContext(provider.id),
  );
  const upstream = {
    callbackURL: input.callbackURL,
    state: input.state,
    nonce: state.nonce,
    codeVerifier,
    redirectURI: input.registeredCallbackURL,
    clientSecret,
  };
  const identity =
    provider.kind === 'oidc'
      ? await completeAuthorization(deps, provider, upstream)
      : await completeSocial(deps, provider, upstream);
  const emailNormalized = identity.email === null ? null : normalizeEmail(identity.email);
  if (provider.allowedDomains.length > 0) {
    const domain = emailNormalized?.split('@').pop() ?? '';
    if (!provider.allowedDomains.includes(domain))
      throw new AppError(
        'access_denied',
        'this email domain may not sign in through this provider',
      );
  }
  const redirectTo = state.redirectTo === '' ? defaultRedirect(deps, tenant) : state.redirectTo;
  const started = await startSession(deps, tenant, state.userId ?? '', client, AMR.federated);
  const mfaToken = await prepareMfaToken(deps);
  const outcome = await decideOnce(deps, {
    tenantId: tenant.id,
    providerId: provider.id,
    providerName: provider.name,
    subject: identity.subject,
    email: identity.email,
    emailNormalized,
    name: identity.name,
    emailVerified: provider.trustEmailVerified && identity.emailVerified,
    linkByEmail: tenant.settings.federation.linkByEmail,
    registrationEnabled: tenant.settings.registrationEnabled,
    verifiedRequired: tenant.settings.emailVerificationRequired,
    intent: state.intent,
    linkUserId: state.userId,
    newUserId: crypto.randomUUID(),
    identityId: crypto.randomUUID(),
    session: started.record,
    mfaToken,
    client,
  });
  const refusal = REFUSALS[outcome.action];
  if (refusal !== undefined) refuse(...refusal);
  if (outcome.action === 'linked' || outcome.action === 'already_linked')
    return { kind: 'linked', tenant, redirectTo };
  if (outcome.mfa !== null) {
    const base = {
      mfa_required: true as const,
      mfa_token: mfaToken.token,
      expires_at: mfaToken.expiresAt.toISOString(),
    };
    if (outcome.mfa.purpose === 'enroll')
      return {
        kind: 'mfa',
        tenant,
        redirectTo,
        answer: { ...base, methods: [], enrollment_required: true },
      };
    const methods: SecondFactorMethod[] = [];
    if (outcome.mfa.hasTOTP) methods.push('totp');
    if (outcome.mfa.hasPasskey) methods.push('passkey');
    methods.push('recovery_code');
    return { kind: 'mfa', tenant, redirectTo, answer: { ...base, methods } };
  }
  const user = outcome.user!;
  return {
    kind: 'session',
    tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    redirectTo,
    user: {
      id: outcome.userId!,
      email: user.email,
      name: user.name,
      email_verified: user.emailVerified,
      created_at: user.createdAt.toISOString(),
    },
  };
}
