import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { userSchema } from '../accounts/docs.ts';

const sessionSchema = z.object({
  id: z.uuid(),
  created_at: z.iso.datetime(),
  last_seen_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  idle_expires_at: z.iso.datetime(),
  active_organization_id: z.uuid().nullable(),
  role: z.string().nullable(),
});

export const sessionDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/auth/session',
    summary: 'Who is signed in: by session cookie (one round trip) or bearer access token (none)',
    tag: 'end-user',
    auth: 'session_or_bearer',
    responses: {
      200: {
        description: 'the session',
        schema: z
          .object({ user: userSchema.partial(), session: sessionSchema.partial() })
          .catchall(z.unknown()),
      },
      401: { description: '`unauthorized` or `invalid_token`' },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/logout',
    summary: 'Revoke the session server-side and clear the cookie',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'signed out', schema: z.object({ status: z.literal('signed_out') }) },
    },
  },
  {
    method: 'get',
    path: '/v1/auth/sessions',
    summary: "The user's live sessions",
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: {
        description: 'sessions',
        schema: z.object({
          sessions: z.array(
            z.object({
              id: z.uuid(),
              current: z.boolean(),
              created_at: z.iso.datetime(),
              last_seen_at: z.iso.datetime(),
              expires_at: z.iso.datetime(),
              ip: z.string().nullable(),
              user_agent: z.string().nullable(),
            }),
          ),
        }),
      },
    },
  },
  {
    method: 'delete',
    path: '/v1/auth/sessions/:id',
    summary: 'Revoke one of your sessions',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'revoked', schema: z.object({ status: z.literal('revoked') }) },
      404: { description: 'no such session' },
    },
  },
  {
    method: 'post',
    path: '/v1/auth/sessions/revoke-others',
    summary: 'Revoke every session but this one',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'how many were revoked', schema: z.object({ revoked: z.number() }) },
    },
  },
];
