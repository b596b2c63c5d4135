import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import { userExportResponseSchema } from '../admin/users-routes.ts';
import { profilePatchBody } from './routes.ts';

const profileSchema = z.object({
  user: z.object({
    id: z.uuid(),
    email: z.string(),
    email_verified: z.boolean(),
    name: z.string().nullable(),
    locale: z.string().nullable(),
    zoneinfo: z.string().nullable(),
    avatar_url: z.url().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  }),
});

const fresh = { description: '`reauthentication_required`: no sign-in within the last 5 minutes' };

export const privacyDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/auth/me',
    summary: "The signed-in user's profile (two round trips)",
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'the profile', schema: profileSchema },
      401: { description: '`unauthorized`' },
    },
  },
  {
    method: 'patch',
    path: '/v1/auth/me',
    summary: 'Change name, locale (BCP 47) or zoneinfo (IANA); null clears a field',
    tag: 'end-user',
    auth: 'session',
    body: profilePatchBody,
    responses: {
      200: { description: 'the profile', schema: profileSchema },
      400: { description: '`invalid_request`' },
      401: { description: '`unauthorized`' },
    },
  },
  {
    method: 'get',
    path: '/v1/auth/me/export',
    summary: 'Everything held about the signed-in user, as JSON (fresh sign-in required)',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'the export', schema: userExportResponseSchema },
      401: { description: '`unauthorized`' },
      403: fresh,
    },
  },
  {
    method: 'delete',
    path: '/v1/auth/me',
    summary:
      'Erase the account and scrub personal data from its audit events (fresh sign-in required)',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: {
        description: 'erased',
        schema: z.object({ status: z.literal('erased'), audit_events_scrubbed: z.number().int() }),
      },
      401: { description: '`unauthorized`' },
      403: fresh,
    },
  },
  {
    method: 'put',
    path: '/v1/auth/me/avatar',
    summary: 'Upload an avatar: the raw PNG, JPEG or WebP bytes (by magic number), at most 5 MiB',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: {
        description: 'stored',
        schema: z.object({ avatar_url: z.url(), content_type: z.string() }),
      },
      413: { description: '`payload_too_large`: over 5 MiB (declared or counted)' },
      415: { description: '`unsupported_media_type`: not PNG, JPEG or WebP by its bytes' },
    },
  },
  {
    method: 'delete',
    path: '/v1/auth/me/avatar',
    summary: 'Remove the avatar',
    tag: 'end-user',
    auth: 'session',
    responses: {
      200: { description: 'removed', schema: z.object({ status: z.literal('removed') }) },
    },
  },
  {
    method: 'get',
    path: '/v1/avatars/:hash',
    summary: 'An avatar image (immutable; nosniff; a CSP that runs nothing)',
    tag: 'end-user',
    auth: 'none',
    responses: { 200: { description: 'the image' }, 404: { description: '`not_found`' } },
  },
];
