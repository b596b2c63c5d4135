import { BINDING_TIMEOUT_MS, withDeadline } from '../../dependencies.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { AvatarType } from './sniff.ts';

/** R2 object key of an avatar: its SHA-256, so one image is stored once and never changes. */
export const avatarObjectKey = (hash: string): string => `avatars/${hash}`;

/** Where the avatar with this hash is served: under the tenant's issuer, stable however reached. */
export function avatarURL(issuer: string, hash: string | null): string | null {
  return hash === null ? null : `${issuer}/v1/avatars/${hash}`;
}

export function avatarBucket(deps: Deps): R2Bucket {
  if (deps.avatars === null) throw new AppError('misconfigured', 'no AVATARS bucket is bound');
  return deps.avatars;
}

export async function storeAvatar(
  deps: Deps,
  hash: string,
  bytes: Uint8Array,
  type: AvatarType,
): Promise<void> {
  const bucket = avatarBucket(deps);
  // Bounded like the short calls: an avatar is at most 5 MiB.
  await withDeadline('r2', BINDING_TIMEOUT_MS, () =>
    bucket.put(avatarObjectKey(hash), bytes, { httpMetadata: { contentType: type } }),
  );
}

/** Deletes an avatar object no user refers to any more (keys are shared by equal images). */
export async function dropAvatar(
  deps: Deps,
  hash: string | null,
  stillUsed: boolean,
): Promise<void> {
  if (hash === null || stillUsed || deps.avatars === null) return;
  await deps.avatars.delete(avatarObjectKey(hash));
}
