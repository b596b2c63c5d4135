import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../../app-env.ts';
import { AppError } from '../../../errors.ts';
import { clientInfo } from '../../../http/client.ts';
import { assertOriginAllowed } from '../../../http/cors.ts';
import type { RouteDoc } from '../../../http/openapi.ts';
import { readSessionCookie } from '../../sessions/cookie.ts';
import { authenticate } from '../../sessions/service.ts';
import { verifyAccessToken } from '../../tokens/service.ts';
import { revokeConsent, userConsents, type ConsentUser } from './service.ts';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * The user behind the request: `Authorization: Bearer <access token>` (no round trip once the
 * tenant's keys are cached; no Origin check, a browser does not attach it on its own) or the
 * session cookie (one round trip; writes checked against the tenant's origins, as CSRF defence).
 */
async function consentUser(c: Context<AppEnv>, options: { write: boolean }): Promise<ConsentUser> {
  const { deps, tenantScope } = c.var;
  const authorization = c.req.header('Authorization');
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (match === null)
      throw new AppError('invalid_token', 'expected Authorization: Bearer <access token>');
    const claims = await verifyAccessToken(deps, tenantScope, match[1]!);
    const tenant = tenantScope.tenant;
    if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
    return { tenantId: tenant.id, userId: claims.sub };
  }
  const auth = await authenticate(
    deps,
    tenantScope,
    readSessionCookie(c, deps.config, tenantScope.ref),
  );
  if (options.write)
    assertOriginAllowed(c.req.header('Origin'), new URL(c.req.url), deps.config, auth.tenant);
  return { tenantId: auth.tenant.id, userId: auth.user.id };
}

const consentSchema = z.object({
  client_id: z.string(),
  client_name: z.string(),
  scopes: z.array(z.string()),
  granted_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const consentRoutes = new Hono<AppEnv>();

consentRoutes.get('/v1/auth/consents', async (c) => {
  const user = await consentUser(c, { write: false });
  const consents = await userConsents(c.var.deps, user);
  return c.json({
    consents: consents.map((consent) => ({
      client_id: consent.clientId,
      client_name: consent.clientName,
      scopes: consent.scopes,
      granted_at: consent.grantedAt.toISOString(),
      updated_at: consent.updatedAt.toISOString(),
    })),
  });
});

consentRoutes.delete('/v1/auth/consents/:client_id', async (c) => {
  const user = await consentUser(c, { write: true });
  const { removed } = await revokeConsent(
    c.var.deps,
    user,
    c.req.param('client_id'),
    clientInfo(c),
  );
  return c.json({ status: 'revoked' as const, consent_removed: removed });
});

export const consentDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/auth/consents',
    summary: 'The applications the user has let act for them, and with which scopes',
    tag: 'end-user',
    auth: 'session_or_bearer',
    responses: {
      200: { description: 'consents', schema: z.object({ consents: z.array(consentSchema) }) },
      401: { description: '`unauthorized` or `invalid_token`' },
    },
  },
  {
    method: 'delete',
    path: '/v1/auth/consents/:client_id',
    summary:
      "Withdraw an application's access: deletes the consent and revokes the application's grants for this user (idempotent)",
    tag: 'end-user',
    auth: 'session_or_bearer',
    responses: {
      200: {
        description: 'revoked; consent_removed says whether a consent was there',
        schema: z.object({ status: z.literal('revoked'), consent_removed: z.boolean() }),
      },
      401: { description: '`unauthorized` or `invalid_token`' },
      403: { description: '`origin_not_allowed`: a cookie write from a foreign origin' },
      404: { description: '`not_found`: the tenant has no such client' },
    },
  },
];
