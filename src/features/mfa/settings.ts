import { z } from 'zod';

export const MFA_POLICIES = ['optional', 'required', 'required_for_admins'] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

/**
 * A tenant's second-factor settings, stored in `tenants.settings` under `mfa` and `webauthn`
 * (declared in tenants/settings.ts from these shapes). Read from the stored JSON here too, for
 * the queries that select only these keys.
 */
export const mfaSettingsSchema = z.object({
  mfa: z
    .object({
      policy: z.enum(MFA_POLICIES).default('optional'),
      /** Role names (RBAC roles, direct or through groups, or organization roles) that count as admin. */
      adminRoles: z.array(z.string().min(1).max(100)).max(50).default(['owner', 'admin']),
    })
    .default({ policy: 'optional', adminRoles: ['owner', 'admin'] }),
  webauthn: z
    .object({
      /** The relying party id: a host name (no scheme, no port). Default: the tenant's host. */
      rpId: z
        .string()
        .regex(/^[a-z0-9.-]{1,253}$/)
        .optional(),
      /** Origins allowed in clientDataJSON. Default: the tenant's public origin and CORS origins under rpId. */
      origins: z.array(z.string().url()).max(20).optional(),
      rpName: z.string().min(1).max(100).optional(),
    })
    .default({}),
});

export type MfaSettings = z.infer<typeof mfaSettingsSchema>;

/** Anything unreadable falls back to the defaults (optional MFA, the tenant's own host). */
export function readMfaSettings(stored: unknown): MfaSettings {
  const value = typeof stored === 'string' ? safeJSON(stored) : stored;
  const record =
    value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const parsed = mfaSettingsSchema.safeParse({ mfa: record.mfa, webauthn: record.webauthn });
  return parsed.success ? parsed.data : mfaSettingsSchema.parse({});
}

function safeJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Whether the policy demands a second factor of a user holding `roles`. */
export function isSecondFactorRequired(settings: MfaSettings, roles: readonly string[]): boolean {
  if (settings.mfa.policy === 'required') return true;
  if (settings.mfa.policy === 'optional') return false;
  return roles.some((role) => settings.mfa.adminRoles.includes(role));
}
