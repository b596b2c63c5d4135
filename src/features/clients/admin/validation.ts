// What a registered client may look like: redirect URIs, grant types, scopes and lifetimes. Pure
// checks, no I/O, run before any write so a refused registration writes nothing.
import { AppError } from '../../../errors.ts';
import type { ClientType, GrantType } from '../schema.ts';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
/** The scopes the provider itself understands; tenants may add their own (CUSTOM_SCOPE). */
export const STANDARD_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'roles'] as const;
/** A custom scope: lower-case, no spaces (RFC 6749 §3.3 scope-tokens, narrowed). */
export const CUSTOM_SCOPE = /^[a-z0-9_:.-]{1,64}$/;
export const MAX_SCOPES = 50;
export const MAX_REDIRECT_URIS = 20;
export const MAX_URI_LENGTH = 2048;

/** Lifetime bounds in seconds; null falls back to the tenant's setting. */
export const TTL_BOUNDS = {
  access: { min: 30, max: 86_400 },
  id: { min: 30, max: 86_400 },
  refresh: { min: 60, max: 31_536_000 },
} as const;

/** RFC 8252 §7.3/§8.3: the loopback hosts a native app may listen on over plain http. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** RFC 8252 §7.1: a private-use scheme is a reverse domain name (at least one dot). */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;

export interface RedirectRules {
  type: ClientType;
  /** Production: https only, loopback http excepted. */
  production: boolean;
}

function refuse(message: string): never {
  throw new AppError('invalid_request', message);
}

/**
 * One redirect (or post-logout redirect) URI, as registered. Stored exactly as given and matched
 * exactly (matchRedirectURI), so what is refused here is what could never be safe to send a code
 * to: relative URIs, fragments (RFC 6749 §3.1.2), userinfo (phishing-shaped), plain http off the
 * loopback in production, and private-use schemes for confidential clients (they are for native
 * apps, which cannot keep a secret: RFC 8252 §8.5).
 */
export function checkRedirectURI(uri: string, field: string, rules: RedirectRules): void {
  if (uri.length === 0 || uri.length > MAX_URI_LENGTH)
    refuse(`${field}: each URI must be 1 to ${MAX_URI_LENGTH} characters`);
  if (CONTROL_OR_SPACE.test(uri)) refuse(`${field}: a URI may not contain spaces or controls`);
  if (uri.includes('#')) refuse(`${field}: a URI may not have a fragment`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return refuse(`${field}: each URI must be absolute`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') {
    if (!/^https?:\/\//i.test(uri) || url.hostname === '')
      refuse(`${field}: an http(s) URI must name a host`);
    if (url.username !== '' || url.password !== '' || authority(uri).includes('@'))
      refuse(`${field}: a URI may not carry userinfo`);
    if (scheme === 'http' && rules.production && !LOOPBACK_HOSTS.has(url.hostname))
      refuse(`${field}: only https, or http on 127.0.0.1, [::1] or localhost, in production`);
    return;
  }
  if (!PRIVATE_USE_SCHEME.test(scheme))
    refuse(`${field}: the scheme must be https, http, or a reverse-domain private-use scheme`);
  if (rules.type !== 'public')
    refuse(`${field}: private-use schemes are for public (native) clients only`);
  if (uri.includes('@')) refuse(`${field}: a URI may not carry userinfo`);
}

/** Text between `scheme://` and the first `/`, `?` or end. */
function authority(uri: string): string {
  const rest = uri.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return rest.split(/[/?]/, 1)[0] ?? '';
}

export function checkRedirectURIs(uris: string[], field: string, rules: RedirectRules): void {
  if (uris.length > MAX_REDIRECT_URIS) refuse(`${field}: at most ${MAX_REDIRECT_URIS} URIs`);
  if (new Set(uris).size !== uris.length) refuse(`${field}: a URI is listed twice`);
  for (const uri of uris) checkRedirectURI(uri, field, rules);
}

export function checkScopes(scopes: string[]): void {
  if (scopes.length > MAX_SCOPES) refuse(`scopes: at most ${MAX_SCOPES}`);
  if (new Set(scopes).size !== scopes.length) refuse('scopes: a scope is listed twice');
  for (const scope of scopes) {
    if (!CUSTOM_SCOPE.test(scope))
      refuse('scopes: each scope must match ^[a-z0-9_:.-]{1,64}$ (openid, profile, email, …)');
  }
}

/**
 * Public clients cannot authenticate, so no client_credentials (RFC 6749 §4.4 is for
 * confidential clients); a refresh grant needs the code grant that issues the first token.
 */
export function checkGrantTypes(type: ClientType, grants: GrantType[]): void {
  if (grants.length === 0) refuse('grant_types: at least one grant type');
  if (new Set(grants).size !== grants.length) refuse('grant_types: a grant type is listed twice');
  if (type === 'public' && grants.includes('client_credentials'))
    refuse('grant_types: client_credentials is for confidential clients only');
  if (grants.includes('refresh_token') && !grants.includes('authorization_code'))
    refuse('grant_types: refresh_token needs authorization_code');
}

/** The registration as a whole (after a patch is merged onto the stored client). */
export interface ClientShape {
  type: ClientType;
  redirectURIs: string[];
  postLogoutRedirectURIs: string[];
  grantTypes: GrantType[];
  scopes: string[];
}

export function checkClient(client: ClientShape, production: boolean): void {
  checkGrantTypes(client.type, client.grantTypes);
  const rules = { type: client.type, production };
  checkRedirectURIs(client.redirectURIs, 'redirect_uris', rules);
  checkRedirectURIs(client.postLogoutRedirectURIs, 'post_logout_redirect_uris', rules);
  if (client.grantTypes.includes('authorization_code') && client.redirectURIs.length === 0)
    refuse('redirect_uris: the authorization_code grant needs at least one');
  checkScopes(client.scopes);
}
