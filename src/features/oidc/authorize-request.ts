import { AppError } from '../../errors.ts';
import type { OAuthClient } from '../clients/repo.ts';
import { param, type Params } from './form.ts';

export type Prompt = 'none' | 'login' | 'consent';

/** An authorization request whose client and redirect URI are known to be good. */
export interface AuthorizeRequest {
  redirectURI: string;
  state: string | undefined;
  scopes: string[];
  nonce: string | null;
  codeChallenge: string | null;
  prompt: Set<Prompt>;
  maxAge: number | null;
  /** The user pressed "Deny" on the consent page (contract hand-off 3). */
  consentDenied: boolean;
}

/** RFC 7636 §4.2: 43–128 characters of the unreserved set. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
const PROMPTS = new Set<string>(['none', 'login', 'consent']);

/**
 * Validates everything after client and redirect URI (which the caller checked first: until
 * then nothing may be sent back). Throws AppError with the OAuth code to redirect with.
 */
export function validateAuthorizeRequest(
  client: OAuthClient,
  redirectURI: string,
  params: Params,
): AuthorizeRequest {
  const state = param(params, 'state', 1024);
  if (params.has('request') || params.has('request_uri')) {
    throw new AppError('invalid_request', 'request objects are not supported');
  }
  const responseType = params.get('response_type');
  if (responseType === undefined) throw new AppError('invalid_request', 'response_type missing');
  if (responseType !== 'code') {
    throw new AppError('unsupported_response_type', 'only response_type=code is supported');
  }
  if (!client.grantTypes.includes('authorization_code')) {
    throw new AppError('unauthorized_client', 'this client may not use the authorization code');
  }
  const scopes = [...new Set((param(params, 'scope', 1024) ?? '').split(' ').filter(Boolean))];
  if (!scopes.includes('openid'))
    throw new AppError('invalid_scope', 'the openid scope is required');
  const unknown = scopes.filter((scope) => !client.scopes.includes(scope));
  if (unknown.length > 0) {
    throw new AppError('invalid_scope', 'a requested scope is not registered for this client');
  }
  const codeChallenge = param(params, 'code_challenge', 128) ?? null;
  const method = params.get('code_challenge_method');
  if (codeChallenge === null && method !== undefined) {
    throw new AppError('invalid_request', 'code_challenge_method without code_challenge');
  }
  if (codeChallenge !== null) {
    // An absent method means `plain` (RFC 7636 §4.3), which we refuse like an explicit one.
    if (method !== 'S256') throw new AppError('invalid_request', 'only S256 PKCE is accepted');
    if (!CODE_CHALLENGE.test(codeChallenge)) {
      throw new AppError('invalid_request', 'code_challenge is not 43–128 unreserved characters');
    }
  } else if (client.type === 'public') {
    throw new AppError('invalid_request', 'a public client must send an S256 code_challenge');
  }
  const prompt = new Set<Prompt>();
  for (const value of (params.get('prompt') ?? '').split(' ').filter(Boolean)) {
    if (!PROMPTS.has(value)) throw new AppError('invalid_request', 'unsupported prompt value');
    prompt.add(value as Prompt);
  }
  if (prompt.has('none') && prompt.size > 1) {
    throw new AppError('invalid_request', 'prompt=none cannot be combined with other values');
  }
  const maxAgeText = params.get('max_age');
  let maxAge: number | null = null;
  if (maxAgeText !== undefined) {
    if (!/^\d{1,9}$/.test(maxAgeText))
      throw new AppError('invalid_request', 'max_age: not a number');
    maxAge = Number(maxAgeText);
  }
  param(params, 'login_hint', 320);
  return {
    redirectURI,
    state,
    scopes,
    nonce: param(params, 'nonce', 512) ?? null,
    codeChallenge,
    prompt,
    maxAge,
    consentDenied: params.get('consent') === 'denied',
  };
}

/** The redirect back to the client (RFC 6749 §4.1.2), with `iss` (RFC 9207) on every answer. */
export function clientRedirect(
  redirectURI: string,
  issuer: string,
  state: string | undefined,
  values: Record<string, string>,
): string {
  const url = new URL(redirectURI);
  for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value);
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}

/**
 * The authorize URL relative to the issuer, for `return_to` (contract hand-offs 1 and 3): the
 * given parameters dropped so the return does not ask again what was just done.
 */
export function authorizeReturnTo(params: Params, drop: Record<string, string>): string {
  const query = new URLSearchParams();
  for (const [name, value] of params) {
    if (name === 'consent') continue;
    if (name === 'prompt') {
      const kept = value.split(' ').filter((p) => p !== '' && p !== drop.prompt);
      if (kept.length > 0) query.set(name, kept.join(' '));
      continue;
    }
    if (drop[name] === value) continue;
    query.set(name, value);
  }
  return `/oauth2/authorize?${query.toString()}`;
}

/** `{issuer}/login?return_to=…` (contract hand-off 1). */
export function loginRedirect(issuer: string, returnTo: string): string {
  return `${issuer}/login?return_to=${encodeURIComponent(returnTo)}`;
}

/** `{issuer}/consent?return_to=…` (contract hand-off 3). */
export function consentRedirect(issuer: string, returnTo: string): string {
  return `${issuer}/consent?return_to=${encodeURIComponent(returnTo)}`;
}
