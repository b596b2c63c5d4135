/** The image types accepted as avatars, decided by their first bytes only (never a declared type). */
export type AvatarType = 'image/png' | 'image/jpeg' | 'image/webp';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];

const startsWith = (bytes: Uint8Array, magic: number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((byte, i) => bytes[at + i] === byte);

/**
 * The type by magic number (PNG: RFC 2083 signature; JPEG: SOI + marker; WebP: RIFF....WEBP per
 * RFC 9649), or null. Whatever Content-Type the client declared is ignored.
 */
export function sniffAvatarType(bytes: Uint8Array): AvatarType | null {
  if (startsWith(bytes, PNG)) return 'image/png';
  if (startsWith(bytes, JPEG)) return 'image/jpeg';
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return 'image/webp';
  return null;
}
