import { z } from 'zod';
import { DEFAULT_EMAIL_CONTENT, emailContentSettingsSchema } from '../email/settings.ts';
import { mailTransportSettingsSchema } from '../mail/settings.ts';
import { mfaSettingsSchema } from '../mfa/settings.ts';
import { brandingSettingsSchema } from '../pages/branding-settings.ts';

export const PASSWORD_CLASSES = ['lowercase', 'uppercase', 'digit', 'symbol'] as const;

/** A tenant's settings. Stored as JSON with only what differs from the defaults. */
export const tenantSettingsSchema = z.object({
  passwordPolicy: z
    .object({
      // 8 is NIST SP 800-63B's floor for user-chosen secrets; tenants may only raise it.
      minLength: z.number().int().min(8).max(128).default(8),
      requireClasses: z.array(z.enum(PASSWORD_CLASSES)).default([]),
      rejectEmailLocalPart: z.boolean().default(false),
    })
    .default({ minLength: 8, requireClasses: [], rejectEmailLocalPart: false }),
  sessionIdleTTLSeconds: z
    .number()
    .int()
    .min(60)
    .max(31_536_000)
    .default(7 * 24 * 3600),
  sessionAbsoluteTTLSeconds: z
    .number()
    .int()
    .min(60)
    .max(31_536_000)
    .default(30 * 24 * 3600),
  accessTokenTTLSeconds: z.number().int().min(30).max(86_400).default(600),
  refreshTokenTTLSeconds: z
    .number()
    .int()
    .min(60)
    .max(31_536_000)
    .default(30 * 24 * 3600),
  /** Seconds a rotated refresh token still rotates (concurrent tabs); 0: any reuse is theft. */
  refreshReuseGraceSeconds: z.number().int().min(0).max(60).default(0),
  registrationEnabled: z.boolean().default(true),
  emailVerificationRequired: z.boolean().default(false),
  cookieSameSite: z.enum(['Lax', 'Strict', 'None']).default('Lax'),
  signingAlgorithm: z.enum(['ES256', 'RS256']).default('ES256'),
  /** Audit events older than this are deleted by the scheduled worker. */
  auditRetentionDays: z.number().int().min(1).max(3650).default(365),
  /** `aud` of access tokens; the tenant's issuer URL when unset. */
  audience: z.string().min(1).max(200).nullable().default(null),
  /**
   * Account lockout: `maxFailures` failed logins within `windowSeconds` lock the account for
   * `durationSeconds`; 0 in either count disables it. 5 in 15 minutes, locked 15 minutes by default.
   */
  lockout: z
    .object({
      maxFailures: z.number().int().min(0).max(1000).default(5),
      windowSeconds: z.number().int().min(1).max(86_400).default(900),
      durationSeconds: z.number().int().min(0).max(86_400).default(900),
    })
    .default({ maxFailures: 5, windowSeconds: 900, durationSeconds: 900 }),
  /** Credential endpoints answer no sooner than this after the request arrived (0: off). */
  credentialResponseFloorMs: z.number().int().min(0).max(10_000).default(300),
  /** Per-policy overrides of the rate limits (policy names: src/features/ratelimit/policies.ts). */
  rateLimits: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/),
      z.object({
        limit: z.number().int().min(1).max(1_000_000).optional(),
        windowSeconds: z.number().int().min(1).max(604_800).optional(),
      }),
    )
    .default({}),
  /** Second factors: who must have one (src/features/mfa/settings.ts). */
  mfa: mfaSettingsSchema.shape.mfa,
  /** Passkeys: relying party id, allowed origins and display name. */
  webauthn: mfaSettingsSchema.shape.webauthn,
  /**
   * Outgoing mail: the tenant's own SMTP server (src/features/mail/settings.ts) and the mails'
   * content: links, product name, templates, reset TTL, OTP sign-in (src/features/email).
   */
  mail: mailTransportSettingsSchema
    .extend(emailContentSettingsSchema.shape)
    .default(() => structuredClone(DEFAULT_EMAIL_CONTENT)),
  /** The hosted pages' name, logo and accent colour (src/features/pages/branding-settings.ts). */
  branding: brandingSettingsSchema.default({}),
  /**
   * Social and enterprise sign-in (src/features/federation). `linkByEmail`: a new identity whose
   * provider-verified address matches an existing user joins that user; off by default, because
   * it makes every configured provider able to sign in as any of the tenant's addresses.
   * `defaultRedirectURL`: where a finished sign-in goes without an allowed `redirect_to`
   * (null: the hosted signed-in page).
   */
  federation: z
    .object({
      linkByEmail: z.boolean().default(false),
      defaultRedirectURL: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .nullable()
        .default(null),
    })
    .default({ linkByEmail: false, defaultRedirectURL: null }),
});

export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

/** Stored settings over the defaults; anything unreadable falls back to its default. */
export function resolveSettings(stored: unknown): TenantSettings {
  const parsed = tenantSettingsSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : tenantSettingsSchema.parse({});
}
