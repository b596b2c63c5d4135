import { GatehouseError } from './errors.ts';
import { createTokenManager, type TokenStorage } from './tokens.ts';
import type { Path, RequestBody, ResponseBody, TokenResponse } from './types.ts';

export interface ClientOptions {
  /** Where Gatehouse is served, e.g. `https://auth.example.com` (with its BASE_PATH, if any). */
  baseURL: string;
  /** The tenant's slug when it is served at `/t/{slug}` rather than on its own hostname. */
  tenant?: string;
  /**
   * `cookie` (default): the HttpOnly session cookie authenticates, access tokens come from it.
   * `token`: no cookies at all (third-party cookies blocked): sign-ins answer with an access and a
   * refresh token, session routes take the access token as a bearer.
   */
  mode?: 'cookie' | 'token';
  /** Seconds before expiry at which `getAccessToken()` renews (default 30). */
  renewBeforeSeconds?: number;
  /** Token mode: where the refresh token is kept (default `localStorage`, shared by tabs). */
  storage?: TokenStorage | null;
  /** Replaces the global fetch (tests, server-side rendering). */
  fetch?: (input: string, init: FetchInit) => Promise<Response>;
}

/** What the client passes to fetch: always `credentials: 'include'`. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  /** JSON text, or the raw bytes of an upload (the avatar). */
  body: string | Blob | undefined;
  credentials: 'include';
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Body<P extends Path, M extends Method> = RequestBody<P, M>;
type Result<P extends Path, M extends Method> = Promise<ResponseBody<P, M>>;

/** What a sign-in returns: the session, or the second-factor step (`isMfaRequired`). */
type SignInResult<P extends Path> = Result<P, 'post'>;

export type GatehouseClient = ReturnType<typeof createClient>;

/** A client for one tenant of one Gatehouse deployment. Every call sends credentials. */
export function createClient(options: ClientOptions) {
  const root =
    options.baseURL.replace(/\/+$/, '') +
    (options.tenant === undefined ? '' : `/t/${encodeURIComponent(options.tenant)}`);
  const tokenMode = options.mode === 'token';
  const send = options.fetch ?? ((input, init) => fetch(input, init as RequestInit));
  const g = globalThis as { localStorage?: TokenStorage };

  async function call(
    method: Method,
    path: string,
    body?: unknown,
    bearer?: string,
  ): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = {};
    const raw = typeof Blob !== 'undefined' && body instanceof Blob;
    if (raw) headers['Content-Type'] = body.type || 'application/octet-stream';
    else if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
    let response: Response;
    try {
      response = await send(root + path, {
        method: method.toUpperCase(),
        headers,
        body: raw || body === undefined ? body : JSON.stringify(body),
        credentials: 'include',
      });
    } catch (cause) {
      throw new GatehouseError(0, { error: 'network_error', error_description: String(cause) });
    }
    const text = await response.text();
    let json: Record<string, unknown>;
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = { error: 'server_error', error_description: `HTTP ${response.status}` };
    }
    if (!response.ok) throw new GatehouseError(response.status, json);
    return json;
  }

  const tokens = createTokenManager({
    name: `gatehouse:${root}`,
    renewBeforeMs: (options.renewBeforeSeconds ?? 30) * 1000,
    storage: tokenMode ? (options.storage ?? g.localStorage ?? null) : null,
    async refresh(refreshToken) {
      if (tokenMode && refreshToken === null)
        throw new GatehouseError(401, { error: 'unauthorized', error_description: 'signed out' });
      const grant = tokenMode
        ? { grant_type: 'refresh_token', refresh_token: refreshToken }
        : { grant_type: 'session' };
      return (await call('post', '/v1/auth/token', grant)) as TokenResponse;
    },
  });

  /** A route that takes the session: the cookie, or in token mode the access token. */
  async function authed(method: Method, path: string, body?: unknown) {
    return call(method, path, body, tokenMode ? await tokens.get() : undefined);
  }

  /** A route that signs in: in token mode it asks for tokens and keeps them. */
  async function signIn(path: string, body: object) {
    const answer = await call(
      'post',
      path,
      tokenMode ? { ...body, session_delivery: 'token' } : body,
    );
    if (answer.tokens !== undefined) tokens.accept(answer.tokens as TokenResponse);
    return answer;
  }

  // `as never` below: the runtime answer is the JSON the service documents for that route.
  return {
    /** Create an account; signs in unless the tenant requires a verified address first. */
    register: (body: Body<'/v1/auth/register', 'post'>) =>
      signIn('/v1/auth/register', body) as never as SignInResult<'/v1/auth/register'>,
    /** Password sign-in; check `isMfaRequired(result)` for the second step. */
    login: (body: Body<'/v1/auth/login', 'post'>) =>
      signIn('/v1/auth/login', body) as never as SignInResult<'/v1/auth/login'>,
    /** The second step: a TOTP or recovery code with the `mfa_token` login returned. */
    completeMfa: (body: Body<'/v1/auth/mfa/challenge', 'post'>) =>
      signIn('/v1/auth/mfa/challenge', body) as never as SignInResult<'/v1/auth/mfa/challenge'>,
    /** Revokes the session server-side (and clears the cookie, or the kept tokens). */
    async logout(): Result<'/v1/auth/logout', 'post'> {
      try {
        if (!tokenMode) return (await call('post', '/v1/auth/logout')) as never;
        const sid = sessionIdOf(await tokens.get());
        await authed('delete', `/v1/auth/sessions/${sid}`);
        return { status: 'signed_out' };
      } finally {
        tokens.clear();
      }
    },
    session: () => authed('get', '/v1/auth/session') as never as Result<'/v1/auth/session', 'get'>,
    /** An access token for your API: cached, renewed early, one refresh at a time (all tabs). */
    getAccessToken: () => tokens.get(),
    sessions: {
      list: () => authed('get', '/v1/auth/sessions') as never as Result<'/v1/auth/sessions', 'get'>,
      revoke: (id: string) =>
        authed('delete', `/v1/auth/sessions/${encodeURIComponent(id)}`) as never as Result<
          '/v1/auth/sessions/{id}',
          'delete'
        >,
      revokeOthers: () =>
        authed('post', '/v1/auth/sessions/revoke-others') as never as Result<
          '/v1/auth/sessions/revoke-others',
          'post'
        >,
    },
    password: {
      change: (body: Body<'/v1/auth/password/change', 'post'>) =>
        authed('post', '/v1/auth/password/change', body) as never as Result<
          '/v1/auth/password/change',
          'post'
        >,
      forgot: (body: Body<'/v1/auth/password/forgot', 'post'>) =>
        call('post', '/v1/auth/password/forgot', body) as never as Result<
          '/v1/auth/password/forgot',
          'post'
        >,
      reset: (body: Body<'/v1/auth/password/reset', 'post'>) =>
        call('post', '/v1/auth/password/reset', body) as never as Result<
          '/v1/auth/password/reset',
          'post'
        >,
    },
    email: {
      verify: (body: Body<'/v1/auth/email/verify', 'post'>) =>
        call('post', '/v1/auth/email/verify', body) as never as Result<
          '/v1/auth/email/verify',
          'post'
        >,
      resendVerification: () =>
        authed('post', '/v1/auth/email/verify/resend') as never as Result<
          '/v1/auth/email/verify/resend',
          'post'
        >,
    },
    emailCode: {
      request: (body: Body<'/v1/auth/email-otp/request', 'post'>) =>
        call('post', '/v1/auth/email-otp/request', body) as never as Result<
          '/v1/auth/email-otp/request',
          'post'
        >,
      verify: (body: Body<'/v1/auth/email-otp/verify', 'post'>) =>
        signIn(
          '/v1/auth/email-otp/verify',
          body,
        ) as never as SignInResult<'/v1/auth/email-otp/verify'>,
    },
    mfa: {
      status: () => authed('get', '/v1/auth/mfa') as never as Result<'/v1/auth/mfa', 'get'>,
      /** Signed in, or with the `mfa_token` of a sign-in that must enrol first. */
      enrollTOTP: (body: Body<'/v1/auth/mfa/totp/enroll', 'post'> = {}) =>
        (body.mfa_token === undefined
          ? authed('post', '/v1/auth/mfa/totp/enroll', body)
          : call('post', '/v1/auth/mfa/totp/enroll', body)) as never as Result<
          '/v1/auth/mfa/totp/enroll',
          'post'
        >,
      /** With an `mfa_token`, this ends that sign-in (the session, or tokens in token mode). */
      verifyTOTP: (body: Body<'/v1/auth/mfa/totp/verify', 'post'>) =>
        (body.mfa_token === undefined
          ? authed('post', '/v1/auth/mfa/totp/verify', body)
          : signIn('/v1/auth/mfa/totp/verify', body)) as never as Result<
          '/v1/auth/mfa/totp/verify',
          'post'
        >,
      disableTOTP: (body: Body<'/v1/auth/mfa/totp/disable', 'post'>) =>
        authed('post', '/v1/auth/mfa/totp/disable', body) as never as Result<
          '/v1/auth/mfa/totp/disable',
          'post'
        >,
      recoveryCodesRemaining: () =>
        authed('get', '/v1/auth/mfa/recovery-codes') as never as Result<
          '/v1/auth/mfa/recovery-codes',
          'get'
        >,
      regenerateRecoveryCodes: (body: Body<'/v1/auth/mfa/recovery-codes/regenerate', 'post'>) =>
        authed('post', '/v1/auth/mfa/recovery-codes/regenerate', body) as never as Result<
          '/v1/auth/mfa/recovery-codes/regenerate',
          'post'
        >,
    },
    passkeys: {
      list: () => authed('get', '/v1/auth/passkeys') as never as Result<'/v1/auth/passkeys', 'get'>,
      rename: (id: string, body: Body<'/v1/auth/passkeys/{id}', 'patch'>) =>
        authed('patch', `/v1/auth/passkeys/${encodeURIComponent(id)}`, body) as never as Result<
          '/v1/auth/passkeys/{id}',
          'patch'
        >,
      remove: (id: string) =>
        authed('delete', `/v1/auth/passkeys/${encodeURIComponent(id)}`) as never as Result<
          '/v1/auth/passkeys/{id}',
          'delete'
        >,
    },
    organizations: {
      list: () =>
        authed('get', '/v1/auth/organizations') as never as Result<'/v1/auth/organizations', 'get'>,
      switch: (body: Body<'/v1/auth/organizations/switch', 'post'>) =>
        authed('post', '/v1/auth/organizations/switch', body) as never as Result<
          '/v1/auth/organizations/switch',
          'post'
        >,
    },
    consents: {
      list: () => authed('get', '/v1/auth/consents') as never as Result<'/v1/auth/consents', 'get'>,
      revoke: (clientId: string) =>
        authed('delete', `/v1/auth/consents/${encodeURIComponent(clientId)}`) as never as Result<
          '/v1/auth/consents/{client_id}',
          'delete'
        >,
    },
    /** The profile (`me`): read, change, export everything held, erase the account. */
    profile: {
      get: () => authed('get', '/v1/auth/me') as never as Result<'/v1/auth/me', 'get'>,
      update: (body: Body<'/v1/auth/me', 'patch'>) =>
        authed('patch', '/v1/auth/me', body) as never as Result<'/v1/auth/me', 'patch'>,
      /** Needs a fresh sign-in (the last 5 minutes): `reauthentication_required` otherwise. */
      export: () =>
        authed('get', '/v1/auth/me/export') as never as Result<'/v1/auth/me/export', 'get'>,
      /** Erases the account for good (fresh sign-in required); forgets kept tokens. */
      async erase(): Result<'/v1/auth/me', 'delete'> {
        const answer = (await authed('delete', '/v1/auth/me')) as never;
        tokens.clear();
        return answer;
      },
      /** A PNG, JPEG or WebP image up to 5 MiB, sent as raw bytes. */
      setAvatar: (image: Blob) =>
        authed('put', '/v1/auth/me/avatar', image) as never as Result<'/v1/auth/me/avatar', 'put'>,
      removeAvatar: () =>
        authed('delete', '/v1/auth/me/avatar') as never as Result<'/v1/auth/me/avatar', 'delete'>,
    },
    identities: {
      list: () =>
        authed('get', '/v1/auth/identities') as never as Result<'/v1/auth/identities', 'get'>,
      unlink: (id: string) =>
        authed('delete', `/v1/auth/identities/${encodeURIComponent(id)}`) as never as Result<
          '/v1/auth/identities/{id}',
          'delete'
        >,
      /**
       * Where to send the browser (a top-level navigation, not fetch) to sign in with, or link
       * (`intent: 'link'`, cookie mode), an identity provider; it returns to `redirectTo` when that
       * origin is on the tenant's allow-list.
       */
      startURL: (provider: string, options: { redirectTo?: string; intent?: 'link' } = {}) => {
        const query = new URLSearchParams();
        if (options.redirectTo !== undefined) query.set('redirect_to', options.redirectTo);
        if (options.intent !== undefined) query.set('intent', options.intent);
        const search = query.size === 0 ? '' : `?${query}`;
        return `${root}/v1/auth/oauth/${encodeURIComponent(provider)}/start${search}`;
      },
    },
    /** For `@gatehouse/client/passkeys`: the raw calls of the WebAuthn ceremonies. */
    internal: { call, authed, signIn },
  };
}

/** The session id (`sid`) of an access token, read without verifying (the service verifies). */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return encodeURIComponent(String((JSON.parse(json) as { sid?: unknown }).sid));
}
