import { z } from 'zod';

/**
 * 48 KiB of data URL (~36 KiB of image): it must fit the admin API's 64 KiB body limit, and the
 * settings row is read with every tenant query, so it stays small.
 */
export const MAX_LOGO_CHARS = 48 * 1024;

/**
 * A tenant's look on the hosted pages. Strict on purpose, because the page CSP allows no inline
 * style and no third-party origin: the accent colour is only ever `#rrggbb` (it is written into a
 * stylesheet), and the logo only an inline raster image (`data:` is already in img-src; a URL
 * would add an origin, and SVG can carry script).
 */
export const brandingSettingsSchema = z.object({
  display_name: z.string().trim().min(1).max(100).optional(),
  logo: z
    .string()
    .max(MAX_LOGO_CHARS)
    .regex(
      /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+={0,2}$/,
      'must be a data:image/png, image/jpeg or image/webp base64 URL',
    )
    .optional(),
  accent_color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be #rrggbb')
    .optional(),
});

export type BrandingSettings = z.infer<typeof brandingSettingsSchema>;
