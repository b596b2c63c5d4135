/**
 * Where a hosted page may send the browser after it signs someone in: only back into this
 * tenant's authorize endpoint, as a path relative to the issuer (OIDC contract, hand-off 2).
 * Anything else — an absolute URL, `//host`, backslashes, dot segments, encoded slashes or
 * controls — is dropped, so `return_to` can never become an open redirect.
 */
const PREFIX = '/oauth2/authorize?';

/** Longer than any authorize request we accept: request objects are not supported. */
const MAX_RETURN_TO = 4096;

export function safeReturnTo(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value.length > MAX_RETURN_TO) return null;
  if (!value.startsWith(PREFIX)) return null;
  // Only URL-safe printable ASCII: no backslash, no whitespace, no controls, no fragment.
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]+$/.test(value)) return null;
  try {
    const parsed = new URL(value, 'https://issuer.invalid');
    if (parsed.origin !== 'https://issuer.invalid' || parsed.pathname !== '/oauth2/authorize')
      return null;
  } catch {
    return null;
  }
  return value;
}

/** The authorize request's query, for pages that show what is being asked (consent, hints). */
export function returnToParams(returnTo: string | null): URLSearchParams {
  return new URLSearchParams(returnTo === null ? '' : returnTo.slice(PREFIX.length));
}
