import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { tokenBody } from './routes.ts';

export const tokenDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/auth/token',
    summary:
      'Exchange the session cookie, or a refresh token, for an access token and a rotated refresh token',
    tag: 'end-user',
    auth: 'session',
    body: tokenBody,
    responses: {
      200: {
        description: 'tokens (RFC 6749 §5.1 shape)',
        schema: z.object({
          access_token: z.string(),
          token_type: z.literal('Bearer'),
          expires_in: z.number(),
          refresh_token: z.string(),
          refresh_token_expires_in: z.number(),
        }),
      },
      400: {
        description: '`invalid_grant`: unknown, expired, revoked or already-used refresh token',
      },
      429: { description: '`rate_limited`: 60 a minute per session, both grants together' },
    },
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: "The tenant's published signing keys (active and rotated-out, until retired)",
    tag: 'end-user',
    auth: 'none',
    responses: {
      200: {
        description: 'JWK set',
        schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
      },
    },
  },
];
