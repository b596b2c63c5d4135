import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { encodeHex } from '../../lib/encoding.ts';
import { requireSession } from '../sessions/routes.ts';
import { issuerURL } from '../tenants/context.ts';
import { setAvatarKey } from './repo.ts';
import { sniffAvatarType } from './sniff.ts';
import { avatarBucket, avatarObjectKey, avatarURL, dropAvatar, storeAvatar } from './storage.ts';

/** The production checklist's body limit for uploads. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

const tooLarge = () =>
  new AppError('payload_too_large', `avatars are limited to ${MAX_AVATAR_BYTES} bytes`);

/** Refuses by Content-Length before anything else runs (no session check, no body read). */
const declaredSizeLimit = createMiddleware<AppEnv>(async (c, next) => {
  const declared = c.req.header('Content-Length');
  if (declared !== undefined && Number(declared) > MAX_AVATAR_BYTES) throw tooLarge();
  await next();
});

/** Reads the body, counting: a stream without (or lying about) Content-Length stops at the limit. */
async function readLimited(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_AVATAR_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

export const avatarRoutes = new Hono<AppEnv>();

/** Two round trips: the session check, then the new key with its audit event (plus R2). */
avatarRoutes.put(
  '/v1/auth/me/avatar',
  declaredSizeLimit,
  requireSession({ write: true }),
  async (c) => {
    const { deps, auth } = c.var;
    const bytes = await readLimited(c.req.raw.body);
    const type = sniffAvatarType(bytes);
    if (type === null)
      throw new AppError('unsupported_media_type', 'an avatar must be a PNG, JPEG or WebP image');
    const hash = encodeHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
    avatarBucket(deps);
    await storeAvatar(deps, hash, bytes, type);
    const change = await setAvatarKey(deps.db, {
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      key: hash,
      client: clientInfo(c),
      at: deps.clock.now(),
    });
    if (!change.found) throw new AppError('unauthorized', 'no valid session');
    if (change.previousKey !== hash)
      await dropAvatar(deps, change.previousKey, change.previousStillUsed);
    return c.json({
      avatar_url: avatarURL(issuerURL(deps.config, auth.tenant.slug), hash),
      content_type: type,
    });
  },
);

/** Two round trips: the session check, then the cleared key with its audit event (plus R2). */
avatarRoutes.delete('/v1/auth/me/avatar', requireSession({ write: true }), async (c) => {
  const { deps, auth } = c.var;
  const change = await setAvatarKey(deps.db, {
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    key: null,
    client: clientInfo(c),
    at: deps.clock.now(),
  });
  if (!change.found) throw new AppError('unauthorized', 'no valid session');
  await dropAvatar(deps, change.previousKey, change.previousStillUsed);
  return c.json({ status: 'removed' });
});

/**
 * No round trip: the object from R2. Immutable (the name is the content's hash), typed by the
 * sniffed type stored at upload, and under a CSP that runs nothing even if opened as a page.
 */
avatarRoutes.get('/v1/avatars/:hash', async (c) => {
  const hash = c.req.param('hash');
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new AppError('not_found', 'no such avatar');
  const object = await avatarBucket(c.var.deps).get(avatarObjectKey(hash));
  if (object === null) throw new AppError('not_found', 'no such avatar');
  const type = object.httpMetadata?.contentType;
  if (type !== 'image/png' && type !== 'image/jpeg' && type !== 'image/webp') {
    throw new AppError('not_found', 'no such avatar');
  }
  return new Response(object.body, {
    headers: {
      'Content-Type': type,
      'Content-Length': String(object.size),
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${hash}"`,
      // nosniff and the CSP (API_CSP plus `sandbox` for images) come from securityHeaders.
      'Cross-Origin-Resource-Policy': 'cross-origin',
    },
  });
});
