import { z } from 'zod';
import { emailContentSettingsPatchSchema, emailContentSettingsSchema } from '../email/settings.ts';
import {
  mailTransportPatchSchema,
  mailTransportStored,
  mailTransportView,
  mailTransportViewSchema,
} from '../mail/settings.ts';
import { brandingSettingsSchema } from '../pages/branding-settings.ts';
import { isTenantPolicy } from '../ratelimit/policies.ts';
import { tenantSettingsSchema, type TenantSettings } from '../tenants/settings.ts';

// The admin API speaks snake_case; settings are stored camelCase. Bounds come from the one
// settings schema (unwrapping its defaults), so the API can never accept what storage refuses.
const shape = tenantSettingsSchema.shape;
const policy = shape.passwordPolicy.unwrap().shape;
const lockout = shape.lockout.unwrap().shape;
const override = shape.rateLimits.unwrap().valueType.shape;
const mfa = shape.mfa.unwrap().shape;
const webauthn = shape.webauthn.unwrap().shape;

/**
 * Per-policy overrides, replacing the tenant's whole set (`{}` clears it). Names must be
 * registered tenant policies: a typo would otherwise be stored and silently never apply.
 */
const rateLimitsPatch = z
  .record(
    z.string().refine(isTenantPolicy, {
      message: 'not a tenant rate-limit policy (see RateLimit-Policy headers for names)',
    }),
    z
      .strictObject({
        limit: override.limit.unwrap(),
        window_seconds: override.windowSeconds.unwrap(),
      })
      .partial()
      .refine((value) => value.limit !== undefined || value.window_seconds !== undefined, {
        message: 'set limit, window_seconds or both',
      }),
  )
  .refine((value) => Object.keys(value).length <= 50, { message: 'at most 50 overrides' });

/** A settings change: every field optional, unknown fields refused. */
export const tenantSettingsPatchSchema = z.strictObject({
  password_policy: z
    .strictObject({
      min_length: policy.minLength.unwrap(),
      require_classes: policy.requireClasses.unwrap(),
      reject_email_local_part: policy.rejectEmailLocalPart.unwrap(),
    })
    .partial()
    .optional(),
  session_idle_ttl_seconds: shape.sessionIdleTTLSeconds.unwrap().optional(),
  session_absolute_ttl_seconds: shape.sessionAbsoluteTTLSeconds.unwrap().optional(),
  access_token_ttl_seconds: shape.accessTokenTTLSeconds.unwrap().optional(),
  refresh_token_ttl_seconds: shape.refreshTokenTTLSeconds.unwrap().optional(),
  refresh_reuse_grace_seconds: shape.refreshReuseGraceSeconds.unwrap().optional(),
  registration_enabled: shape.registrationEnabled.unwrap().optional(),
  email_verification_required: shape.emailVerificationRequired.unwrap().optional(),
  cookie_same_site: shape.cookieSameSite.unwrap().optional(),
  signing_algorithm: shape.signingAlgorithm.unwrap().optional(),
  audience: shape.audience.unwrap().optional(),
  audit_retention_days: shape.auditRetentionDays.unwrap().optional(),
  lockout: z
    .strictObject({
      max_failures: lockout.maxFailures.unwrap(),
      window_seconds: lockout.windowSeconds.unwrap(),
      duration_seconds: lockout.durationSeconds.unwrap(),
    })
    .partial()
    .optional(),
  credential_response_floor_ms: shape.credentialResponseFloorMs.unwrap().optional(),
  rate_limits: rateLimitsPatch.optional(),
  /** Replaces the tenant's MFA settings; omitted fields take their defaults. */
  mfa: z
    .strictObject({ policy: mfa.policy.unwrap(), admin_roles: mfa.adminRoles.unwrap() })
    .partial()
    .optional(),
  /** Replaces the tenant's passkey settings; omitted fields take their defaults. */
  webauthn: z
    .strictObject({
      rp_id: webauthn.rpId,
      origins: webauthn.origins,
      rp_name: webauthn.rpName,
    })
    .optional(),
  /**
   * Outgoing mail, merged field by field: the SMTP server (null clears a field; the password is
   * write-only) and the content (links merged link by link, templates as a whole).
   */
  mail: mailTransportPatchSchema.extend(emailContentSettingsPatchSchema.shape).optional(),
  /** Replaces the tenant's branding of the hosted pages; omitted fields are cleared. */
  branding: brandingSettingsSchema.strict().optional(),
});

export type TenantSettingsPatch = z.infer<typeof tenantSettingsPatchSchema>;

/** The effective settings, as the admin API shows them. */
export const tenantSettingsViewSchema = z.object({
  password_policy: z.object({
    min_length: z.number().int(),
    require_classes: z.array(z.string()),
    reject_email_local_part: z.boolean(),
  }),
  session_idle_ttl_seconds: z.number().int(),
  session_absolute_ttl_seconds: z.number().int(),
  access_token_ttl_seconds: z.number().int(),
  refresh_token_ttl_seconds: z.number().int(),
  refresh_reuse_grace_seconds: z.number().int(),
  registration_enabled: z.boolean(),
  email_verification_required: z.boolean(),
  cookie_same_site: z.string(),
  signing_algorithm: z.string(),
  audience: z.string().nullable(),
  audit_retention_days: z.number().int(),
  lockout: z.object({
    max_failures: z.number().int(),
    window_seconds: z.number().int(),
    duration_seconds: z.number().int(),
  }),
  credential_response_floor_ms: z.number().int(),
  /** The tenant's overrides only; any policy not named runs at its default. */
  rate_limits: z.record(
    z.string(),
    z.object({ limit: z.number().int().optional(), window_seconds: z.number().int().optional() }),
  ),
  mfa: z.object({ policy: z.string(), admin_roles: z.array(z.string()) }),
  webauthn: z.object({
    rp_id: z.string().nullable(),
    origins: z.array(z.string()).nullable(),
    rp_name: z.string().nullable(),
  }),
  mail: mailTransportViewSchema.extend(emailContentSettingsSchema.shape),
  branding: brandingSettingsSchema,
});

export function settingsView(
  s: TenantSettings,
  smtpPasswordSet: boolean,
): z.infer<typeof tenantSettingsViewSchema> {
  return {
    password_policy: {
      min_length: s.passwordPolicy.minLength,
      require_classes: s.passwordPolicy.requireClasses,
      reject_email_local_part: s.passwordPolicy.rejectEmailLocalPart,
    },
    session_idle_ttl_seconds: s.sessionIdleTTLSeconds,
    session_absolute_ttl_seconds: s.sessionAbsoluteTTLSeconds,
    access_token_ttl_seconds: s.accessTokenTTLSeconds,
    refresh_token_ttl_seconds: s.refreshTokenTTLSeconds,
    refresh_reuse_grace_seconds: s.refreshReuseGraceSeconds,
    registration_enabled: s.registrationEnabled,
    email_verification_required: s.emailVerificationRequired,
    cookie_same_site: s.cookieSameSite,
    signing_algorithm: s.signingAlgorithm,
    audience: s.audience,
    audit_retention_days: s.auditRetentionDays,
    lockout: {
      max_failures: s.lockout.maxFailures,
      window_seconds: s.lockout.windowSeconds,
      duration_seconds: s.lockout.durationSeconds,
    },
    credential_response_floor_ms: s.credentialResponseFloorMs,
    rate_limits: Object.fromEntries(
      Object.entries(s.rateLimits).map(([name, value]) => [
        name,
        defined({ limit: value.limit, window_seconds: value.windowSeconds }),
      ]),
    ),
    mfa: { policy: s.mfa.policy, admin_roles: s.mfa.adminRoles },
    webauthn: {
      rp_id: s.webauthn.rpId ?? null,
      origins: s.webauthn.origins ?? null,
      rp_name: s.webauthn.rpName ?? null,
    },
    mail: {
      ...mailTransportView(s.mail, smtpPasswordSet),
      links: s.mail.links,
      product_name: s.mail.product_name,
      templates: s.mail.templates,
      password_reset_ttl_seconds: s.mail.password_reset_ttl_seconds,
      otp_sign_in_enabled: s.mail.otp_sign_in_enabled,
    },
    branding: s.branding,
  };
}

type Stored = Partial<Record<keyof TenantSettings, unknown>>;

function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The patch in storage form: top-level keys to set, and the nested objects (password policy,
 * lockout) as partial objects to merge into what is stored, field by field.
 */
export function storedPatch(patch: TenantSettingsPatch): {
  top: Stored;
  passwordPolicy: Record<string, unknown> | null;
  lockout: Record<string, unknown> | null;
  /** settings.mail fields to set and to remove; null: mail not in the patch. */
  mail: { set: Record<string, unknown>; unset: string[] } | null;
  /** The SMTP password in the clear, for the caller to seal; null clears it, undefined keeps it. */
  smtpPassword: string | null | undefined;
} {
  const top = defined({
    sessionIdleTTLSeconds: patch.session_idle_ttl_seconds,
    sessionAbsoluteTTLSeconds: patch.session_absolute_ttl_seconds,
    accessTokenTTLSeconds: patch.access_token_ttl_seconds,
    refreshTokenTTLSeconds: patch.refresh_token_ttl_seconds,
    refreshReuseGraceSeconds: patch.refresh_reuse_grace_seconds,
    registrationEnabled: patch.registration_enabled,
    emailVerificationRequired: patch.email_verification_required,
    cookieSameSite: patch.cookie_same_site,
    signingAlgorithm: patch.signing_algorithm,
    audience: patch.audience,
    auditRetentionDays: patch.audit_retention_days,
    credentialResponseFloorMs: patch.credential_response_floor_ms,
    rateLimits:
      patch.rate_limits === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(patch.rate_limits).map(([name, value]) => [
              name,
              defined({ limit: value.limit, windowSeconds: value.window_seconds }),
            ]),
          ),
    mfa:
      patch.mfa === undefined
        ? undefined
        : shape.mfa.parse(defined({ policy: patch.mfa.policy, adminRoles: patch.mfa.admin_roles })),
    webauthn:
      patch.webauthn === undefined
        ? undefined
        : defined({
            rpId: patch.webauthn.rp_id,
            origins: patch.webauthn.origins,
            rpName: patch.webauthn.rp_name,
          }),
    branding: patch.branding,
  });
  const p = patch.password_policy;
  const l = patch.lockout;
  return {
    top,
    passwordPolicy:
      p === undefined
        ? null
        : defined({
            minLength: p.min_length,
            requireClasses: p.require_classes,
            rejectEmailLocalPart: p.reject_email_local_part,
          }),
    lockout:
      l === undefined
        ? null
        : defined({
            maxFailures: l.max_failures,
            windowSeconds: l.window_seconds,
            durationSeconds: l.duration_seconds,
          }),
    mail: patch.mail === undefined ? null : storedMail(patch.mail),
    smtpPassword: patch.mail?.password,
  };
}

/** settings.mail in storage form: transport fields (camelCase, null removes) and content fields. */
function storedMail(mail: NonNullable<TenantSettingsPatch['mail']>): {
  set: Record<string, unknown>;
  unset: string[];
} {
  const transport = mailTransportStored(mail);
  const content = defined({
    links: mail.links,
    product_name: mail.product_name,
    templates: mail.templates,
    password_reset_ttl_seconds: mail.password_reset_ttl_seconds,
    otp_sign_in_enabled: mail.otp_sign_in_enabled,
  });
  return { set: { ...transport.set, ...content }, unset: transport.unset };
}

/** Settings for a new tenant, in storage form (only what was given). */
export function newTenantSettings(patch: TenantSettingsPatch): Partial<TenantSettings> {
  const { top, passwordPolicy, lockout: lock, mail } = storedPatch(patch);
  const settings: Record<string, unknown> = { ...top };
  if (mail !== null) settings.mail = mail.set;
  if (passwordPolicy !== null)
    settings.passwordPolicy = tenantSettingsSchema.shape.passwordPolicy.parse(passwordPolicy);
  if (lock !== null) settings.lockout = tenantSettingsSchema.shape.lockout.parse(lock);
  return settings as Partial<TenantSettings>;
}
