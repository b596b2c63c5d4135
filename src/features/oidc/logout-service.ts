import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { hashToken } from '../../lib/keys.ts';
import type { ClientInfo } from '../sessions/service.ts';
import { issuerURL, type TenantScope } from '../tenants/context.ts';
import { param, type Params } from './form.ts';
import { endSession, loadLogoutContext } from './logout-repo.ts';

export type LogoutOutcome =
  | { kind: 'page'; code: string; description: string }
  /** No ID token hint on a GET: ask the user (a cross-site GET must not sign anyone out). */
  | { kind: 'confirm' }
  | { kind: 'redirect'; location: string };

function audienceOf(hint: string): string | null {
  try {
    const aud = decodeJwt(hint).aud;
    return typeof aud === 'string' ? aud : Array.isArray(aud) ? (aud[0] ?? null) : null;
  } catch {
    return null;
  }
}

/**
 * RP-Initiated Logout 1.0. The hint must be an ID token this tenant signed (expired is fine: §2);
 * a post_logout_redirect_uri must be registered exactly for the client. Any failure is a page,
 * never a redirect, and nothing is revoked. Two round trips (read; end the session).
 */
export async function rpLogout(
  deps: Deps,
  scope: TenantScope,
  params: Params,
  options: { sessionToken: string | undefined; confirmed: boolean; info: ClientInfo },
): Promise<LogoutOutcome> {
  const hint = param(params, 'id_token_hint', 8192);
  const clientIdParam = param(params, 'client_id', 256);
  const redirectURI = param(params, 'post_logout_redirect_uri', 2048);
  const state = param(params, 'state', 1024);
  const clientId = clientIdParam ?? (hint === undefined ? null : audienceOf(hint));
  const now = deps.clock.now();
  const context = await loadLogoutContext(
    deps.db,
    scope,
    clientId ?? '',
    options.sessionToken === undefined ? '' : await hashToken(options.sessionToken),
    now,
  );
  if (context === null) throw new AppError('unknown_tenant', 'no such tenant');
  const issuer = issuerURL(deps.config, context.tenant.slug);
  if (hint !== undefined) {
    try {
      const decoded = decodeJwt(hint);
      await jwtVerify(hint, createLocalJWKSet({ keys: context.keys }), {
        issuer,
        audience: clientId ?? '',
        algorithms: ['ES256', 'RS256'],
        // An expired hint is still a good hint: verify as of its issue time.
        currentDate: new Date((typeof decoded.iat === 'number' ? decoded.iat : 0) * 1000),
      });
    } catch {
      return {
        kind: 'page',
        code: 'invalid_request',
        description: 'The id_token_hint is not valid here.',
      };
    }
  } else if (!options.confirmed) {
    return { kind: 'confirm' };
  }
  if (redirectURI !== undefined) {
    const client = context.client;
    if (client === null || !client.postLogoutRedirectURIs.includes(redirectURI)) {
      return {
        kind: 'page',
        code: 'invalid_request',
        description: 'The post_logout_redirect_uri is not registered for this application.',
      };
    }
  }
  if (context.session !== null) {
    await endSession(deps.db, context.tenant.id, context.session.id, now, {
      tenantId: context.tenant.id,
      type: 'oauth.logout',
      actor: { type: 'user', id: context.session.userId },
      target: { type: 'session', id: context.session.id },
      ip: options.info.ip,
      userAgent: options.info.userAgent,
      details: { client_id: context.client?.clientId ?? null },
      at: now,
    });
  }
  if (redirectURI === undefined) return { kind: 'redirect', location: `${issuer}/signed-out` };
  const url = new URL(redirectURI);
  if (state !== undefined) url.searchParams.set('state', state);
  return { kind: 'redirect', location: url.toString() };
}
