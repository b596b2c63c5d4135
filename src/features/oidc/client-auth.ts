import { AppError } from '../../errors.ts';
import { decodeBase64, utf8 } from '../../lib/encoding.ts';
import { verifyClientSecret, type OAuthClient } from '../clients/repo.ts';
import { param, type Params } from './form.ts';

/** How a client presented itself at a back-channel endpoint. */
export interface ClientCredentials {
  clientId: string;
  secret: string | null;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

function basicFailure(): AppError {
  return new AppError('invalid_client', 'client authentication failed', {
    headers: { 'WWW-Authenticate': 'Basic realm="oauth2", charset="UTF-8"' },
  });
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and encoded. */
function formDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

/**
 * Reads the client's credentials from the Authorization header (Basic) or the form. Using two
 * methods at once is refused (RFC 6749 §2.3); so is a request naming no client.
 */
export function readClientCredentials(
  authorization: string | undefined,
  params: Params,
): ClientCredentials {
  const bodyId = param(params, 'client_id', 256);
  const bodySecret = param(params, 'client_secret', 256);
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    if (bodySecret !== undefined) {
      throw new AppError('invalid_request', 'use one client authentication method');
    }
    let clientId: string;
    let secret: string;
    try {
      const decoded = utf8.decode(decodeBase64(authorization.slice(6).trim()));
      const colon = decoded.indexOf(':');
      if (colon < 0) throw basicFailure();
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw basicFailure();
    }
    if (bodyId !== undefined && bodyId !== clientId) throw basicFailure();
    if (clientId === '' || clientId.length > 256 || secret.length > 256) throw basicFailure();
    return { clientId, secret, method: 'client_secret_basic' };
  }
  if (bodyId === undefined) {
    throw new AppError('invalid_client', 'client authentication is required');
  }
  return bodySecret === undefined
    ? { clientId: bodyId, secret: null, method: 'none' }
    : { clientId: bodyId, secret: bodySecret, method: 'client_secret_post' };
}

/**
 * A confidential client must prove its secret (compared in constant time); a public client has
 * none and must send none. Every failure is the same `invalid_client`.
 */
export async function authenticateClient(
  client: OAuthClient | null,
  credentials: ClientCredentials,
): Promise<OAuthClient> {
  const fail = (): AppError =>
    credentials.method === 'client_secret_basic'
      ? basicFailure()
      : new AppError('invalid_client', 'client authentication failed');
  if (client === null) throw fail();
  if (client.type === 'public') {
    if (credentials.method !== 'none') throw fail();
    return client;
  }
  if (credentials.secret === null) throw fail();
  if (!(await verifyClientSecret(client, credentials.secret))) throw fail();
  return client;
}
