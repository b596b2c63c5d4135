import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { clientInfo } from '../../http/client.ts';
import { avatarURL } from '../avatars/storage.ts';
import { readJSON } from '../../http/json.ts';
import { clearSessionCookie } from '../sessions/cookie.ts';
import { requireSession } from '../sessions/routes.ts';
import { issuerURL } from '../tenants/context.ts';
import type { Profile } from './profile-repo.ts';
import { eraseOwnAccount, exportOwnData, readProfile, updateProfile } from './service.ts';

function isLocale(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

// The schemas double as the API contract. null clears a field.
export const profilePatchBody = z.strictObject({
  name: z.string().trim().min(1).max(200).nullable().optional(),
  locale: z
    .string()
    .max(35)
    .refine(isLocale, 'a BCP 47 language tag, e.g. en-GB')
    .nullable()
    .optional(),
  zoneinfo: z
    .string()
    .max(64)
    .refine(isTimeZone, 'an IANA time zone, e.g. Europe/Paris')
    .nullable()
    .optional(),
});

export function profileView(profile: Profile, issuer: string) {
  return {
    id: profile.id,
    email: profile.email,
    email_verified: profile.emailVerified,
    name: profile.name,
    locale: profile.locale,
    zoneinfo: profile.zoneinfo,
    avatar_url: avatarURL(issuer, profile.avatarKey),
    created_at: profile.createdAt.toISOString(),
    updated_at: profile.updatedAt.toISOString(),
  };
}

export const privacyRoutes = new Hono<AppEnv>();

/** Two round trips: the session check, then the profile. */
privacyRoutes.get('/v1/auth/me', requireSession({ write: false }), async (c) => {
  return c.json({
    user: profileView(
      await readProfile(c.var.deps, c.var.auth),
      issuerURL(c.var.deps.config, c.var.auth.tenant.slug),
    ),
  });
});

/** Two round trips: the session check, then the change with its audit event. */
privacyRoutes.patch('/v1/auth/me', requireSession({ write: true }), async (c) => {
  const input = await readJSON(c, profilePatchBody);
  const profile = await updateProfile(c.var.deps, c.var.auth, input, clientInfo(c));
  return c.json({
    user: profileView(profile, issuerURL(c.var.deps.config, c.var.auth.tenant.slug)),
  });
});

/** Two round trips: the session check, then the whole export in one statement. */
privacyRoutes.get('/v1/auth/me/export', requireSession({ write: false }), async (c) => {
  const data = await exportOwnData(c.var.deps, c.var.auth);
  c.header('Cache-Control', 'no-store');
  return c.json({ exported_at: c.var.deps.clock.now().toISOString(), ...data });
});

/** Two round trips: the session check, then the erasure in one statement. */
privacyRoutes.delete('/v1/auth/me', requireSession({ write: true }), async (c) => {
  const scrubbed = await eraseOwnAccount(c.var.deps, c.var.auth);
  clearSessionCookie(c, c.var.deps.config, c.var.tenantScope.ref);
  return c.json({ status: 'erased', audit_events_scrubbed: scrubbed });
});
