import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { matchRedirectURI } from '../clients/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';
import { issuerURL, type TenantScope } from '../tenants/context.ts';
import { insertCode, loadAuthorizeContext, type AuthorizeContext } from './authorize-repo.ts';
import {
  authorizeReturnTo,
  clientRedirect,
  consentRedirect,
  loginRedirect,
  validateAuthorizeRequest,
  type AuthorizeRequest,
} from './authorize-request.ts';
import { param, type Params } from './form.ts';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; 60 s is plenty for a back-channel exchange. */
export const CODE_TTL_SECONDS = 60;

export type AuthorizeOutcome =
  /** Cannot be returned to the client: shown on our own page (no open redirect). */
  | { kind: 'page'; status: ContentfulStatusCode; code: string; description: string }
  | { kind: 'redirect'; location: string };

function page(code: string, description: string): AuthorizeOutcome {
  return { kind: 'page', status: 400, code, description };
}

/**
 * /oauth2/authorize. Client and redirect URI are checked before anything else and failures
 * there are answered on a page; after that every answer is a redirect (to the client, the login
 * page or the consent page). With a live session: two round trips (one read of tenant, client,
 * session, user and consent; one write of the code and its audit event).
 */
export async function authorize(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  sessionToken: string | undefined,
  info: ClientInfo,
): Promise<AuthorizeOutcome> {
  const clientId = param(params, 'client_id', 256);
  if (clientId === undefined) return page('invalid_request', 'The client_id is missing.');
  const now = deps.clock.now();
  const loaded = await loadAuthorizeContext(
    deps.db,
    scope,
    clientId,
    sessionToken === undefined ? '' : await hashToken(sessionToken),
    now,
  );
  if (loaded === null) throw new AppError('unknown_tenant', 'no such tenant');
  const { client } = loaded;
  if (client === null) return page('invalid_client', 'The application is not known here.');
  const redirectURI = param(params, 'redirect_uri', 2048);
  if (redirectURI === undefined) return page('invalid_request', 'The redirect_uri is missing.');
  if (!matchRedirectURI(client.redirectURIs, redirectURI)) {
    return page('invalid_request', 'The redirect_uri is not registered for this application.');
  }
  const issuer = issuerURL(deps.config, loaded.tenant.slug);
  let request: AuthorizeRequest;
  try {
    request = validateAuthorizeRequest(client, redirectURI, params);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return toClient(redirectURI, issuer, params.get('state'), error.code, error.message);
  }
  const back = (code: string, description: string): AuthorizeOutcome =>
    toClient(redirectURI, issuer, request.state, code, description);
  if (request.consentDenied) return back('access_denied', 'the user denied the request');

  const session = usableSession(loaded, request, now);
  if (session === null) {
    if (request.prompt.has('none')) return back('login_required', 'the user must sign in');
    // max_age=0 means "sign in again" like prompt=login; kept, it would loop (the fresh session
    // is already a second old on its return).
    const drop: Record<string, string> = { prompt: 'login', max_age: '0' };
    return { kind: 'redirect', location: loginRedirect(issuer, authorizeReturnTo(params, drop)) };
  }
  if (needsConsent(loaded, request)) {
    if (request.prompt.has('none')) return back('consent_required', 'the user must consent');
    const returnTo = authorizeReturnTo(params, { prompt: 'consent' });
    return { kind: 'redirect', location: consentRedirect(issuer, returnTo) };
  }

  const code = encodeBase64url(deps.random.bytes(32));
  await insertCode(
    deps.db,
    {
      id: crypto.randomUUID(),
      tenantId: loaded.tenant.id,
      codeHash: await hashToken(code),
      clientId: client.id,
      session,
      redirectURI,
      scopes: request.scopes,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      now,
      expiresAt: new Date(now.getTime() + CODE_TTL_SECONDS * 1000),
    },
    info,
  );
  return {
    kind: 'redirect',
    location: clientRedirect(redirectURI, issuer, request.state, { code }),
  };
}

function toClient(
  redirectURI: string,
  issuer: string,
  state: string | undefined,
  code: string,
  description: string,
): AuthorizeOutcome {
  // A state past the cap is not echoed: it was the reason for the refusal.
  const echoed = state !== undefined && state.length <= 1024 ? state : undefined;
  return {
    kind: 'redirect',
    location: clientRedirect(redirectURI, issuer, echoed, {
      error: code,
      error_description: description,
    }),
  };
}

/** The session, unless the request asks for a fresh sign-in (prompt=login, max_age exceeded). */
function usableSession(
  loaded: AuthorizeContext,
  request: AuthorizeRequest,
  now: Date,
): AuthorizeContext['session'] {
  const session = loaded.session;
  if (session === null || request.prompt.has('login')) return null;
  if (request.maxAge !== null) {
    const age = Math.floor((now.getTime() - session.createdAt.getTime()) / 1000);
    if (request.maxAge === 0 || age > request.maxAge) return null;
  }
  return session;
}

function needsConsent(loaded: AuthorizeContext, request: AuthorizeRequest): boolean {
  if (loaded.client!.firstParty) return false;
  if (request.prompt.has('consent')) return true;
  return request.scopes.some((scope) => !loaded.consentedScopes.includes(scope));
}
