// Admin writes on tenants that the JSON API and the console share: one implementation of each rule.
import type { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { sealSMTPPassword, storeSMTPPassword } from '../mail/repo.ts';
import { createTenant, validateCORSOrigins } from '../tenants/service.ts';
import { adminEvent, type AdminActor } from './audit.ts';
import { newTenantSettings, type tenantSettingsPatchSchema } from './tenant-settings.ts';
import { readTenantRecording, type AdminTenant } from './tenants-repo.ts';

export interface NewTenantByAdmin {
  slug: string;
  name: string;
  settings: z.infer<typeof tenantSettingsPatchSchema>;
  cors_origins: string[];
  hostnames: string[];
}

/**
 * Creates a tenant (keys, settings, CORS origins checked), stores a sealed SMTP password when one
 * is given, and records `admin.tenant.created` in the read-back round trip.
 */
export async function createTenantByAdmin(
  deps: Deps,
  input: NewTenantByAdmin,
  by: AdminActor,
): Promise<AdminTenant> {
  const created = await createTenant(
    { db: deps.db, secretKey: deps.config.secretKey, random: deps.random },
    {
      slug: input.slug,
      name: input.name,
      settings: newTenantSettings(input.settings),
      corsOrigins: validateCORSOrigins(input.cors_origins),
      hostnames: input.hostnames,
    },
  );
  // The sealed password is bound to the tenant's id, known only now: one more round trip.
  const password = input.settings.mail?.password;
  if (typeof password === 'string')
    await storeSMTPPassword(
      deps.db,
      created.id,
      await sealSMTPPassword(deps.config.secretKey, created.id, password),
    );
  // createTenant owns its batch, so the event follows in the read-back round trip.
  const event = adminEvent(
    by,
    'admin.tenant.created',
    created.id,
    { type: 'tenant', id: created.id },
    { slug: created.slug },
  );
  const tenant = await readTenantRecording(deps.db, created.id, event);
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  return tenant;
}
