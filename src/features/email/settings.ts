import { z } from 'zod';

/** Mails whose subject and bodies a tenant may override. */
export const TEMPLATE_KINDS = [
  'email_verification',
  'password_reset',
  'password_changed',
  'email_otp',
] as const;

export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

const template = z.strictObject({
  subject: z.string().min(1).max(200).optional(),
  text: z.string().min(1).max(20_000).optional(),
  html: z.string().min(1).max(50_000).optional(),
});

/** An absolute https URL (http only for localhost), without a fragment: the token goes there. */
const linkURL = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .refine((value) => !value.includes('#'), { message: 'must not contain a fragment (#)' })
  .refine(
    (value) => {
      const url = new URL(value);
      return url.protocol === 'https:' || ['localhost', '127.0.0.1'].includes(url.hostname);
    },
    { message: 'must be https (http only for localhost)' },
  );

/**
 * The content side of a tenant's `settings.mail` (issue 12): where mailed links point, the
 * product name, template overrides, and the flows' own switches. The SMTP transport settings
 * (host, port, tls, from, …) live beside these in the same object (src/features/mail).
 */
export const emailContentSettingsSchema = z.object({
  links: z
    .object({
      /** The tenant's page that reads `#token=` and POSTs it to /v1/auth/email/verify. */
      verify_url: linkURL.nullable().default(null),
      /** The tenant's page that reads `#token=` and POSTs it with a new password. */
      reset_url: linkURL.nullable().default(null),
    })
    .default({ verify_url: null, reset_url: null }),
  /** Shown in subjects and bodies; the tenant's name when unset. */
  product_name: z.string().trim().min(1).max(100).nullable().default(null),
  templates: z.partialRecord(z.enum(TEMPLATE_KINDS), template).default({}),
  /** Lifetime of a password-reset token; 30 minutes by default (OWASP: short-lived). */
  password_reset_ttl_seconds: z.number().int().min(300).max(86_400).default(1800),
  /** Email one-time codes as a way to sign in: off unless the tenant opts in. */
  otp_sign_in_enabled: z.boolean().default(false),
});

export type EmailContentSettings = z.infer<typeof emailContentSettingsSchema>;

export const DEFAULT_EMAIL_CONTENT: EmailContentSettings = emailContentSettingsSchema.parse({});

const shape = emailContentSettingsSchema.shape;

/**
 * The admin API's change to these settings (already snake_case, as stored): each field given
 * replaces the stored one (`links` merged link by link, `templates` as a whole), the others stay.
 */
export const emailContentSettingsPatchSchema = z
  .strictObject({
    links: z
      .strictObject({
        verify_url: shape.links.unwrap().shape.verify_url.unwrap(),
        reset_url: shape.links.unwrap().shape.reset_url.unwrap(),
      })
      .partial(),
    product_name: shape.product_name.unwrap(),
    templates: shape.templates.unwrap(),
    password_reset_ttl_seconds: shape.password_reset_ttl_seconds.unwrap(),
    otp_sign_in_enabled: shape.otp_sign_in_enabled.unwrap(),
  })
  .partial();
