// Admin writes on tenants that the JSON API and the console share: one implementation of each rule.
import type { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { sealSMTPPassword, storeSMTPPassword } from '../mail/repo.ts';
import { createTenant, validateCORSOrigins } from '../tenants/service.ts';
import type { SigningAlgorithm } from '../tokens/keys.ts';
import { rotateSigningKey } from '../tokens/rotation.ts';
import { adminEvent, type AdminActor } from './audit.ts';
import {
  newTenantSettings,
  storedPatch,
  type tenantSettingsPatchSchema,
} from './tenant-settings.ts';
import {
  getTenant,
  listSigningKeys,
  readTenantRecording,
  updateTenant,
  type AdminTenant,
} from './tenants-repo.ts';

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

export function unknownTenant(): never {
  throw new AppError('unknown_tenant', 'no such tenant');
}

/** A tenant change as the admin API's PATCH body (updateTenantRequestSchema) parses it. */
export interface TenantUpdateByAdmin {
  name?: string | undefined;
  settings?: z.infer<typeof tenantSettingsPatchSchema> | undefined;
  cors_origins?: string[] | undefined;
  hostnames?: string[] | undefined;
}

/**
 * Updates a tenant's name, settings, CORS origins and hostnames: a new SMTP password sealed to
 * the tenant, hostnames another tenant serves refused (conflict), and a changed signing algorithm
 * rotated in at once. Shared by the API's PATCH and the console's settings form.
 */
export async function updateTenantByAdmin(
  deps: Deps,
  slug: string,
  input: TenantUpdateByAdmin,
  by: AdminActor,
): Promise<AdminTenant> {
  const patch = storedPatch(input.settings ?? {});
  // A new SMTP password is sealed bound to the tenant's id: one more round trip to learn it.
  let smtpPasswordSealed: string | null | undefined =
    patch.smtpPassword === null ? null : undefined;
  if (typeof patch.smtpPassword === 'string') {
    const tenant = (await getTenant(deps.db, slug)) ?? unknownTenant();
    smtpPasswordSealed = await sealSMTPPassword(
      deps.config.secretKey,
      tenant.id,
      patch.smtpPassword,
    );
  }
  const outcome = await updateTenant(
    deps.db,
    slug,
    {
      name: input.name,
      settings: patch.top,
      passwordPolicy: patch.passwordPolicy,
      lockout: patch.lockout,
      mail: patch.mail,
      smtpPasswordSealed,
      corsOrigins:
        input.cors_origins === undefined ? undefined : validateCORSOrigins(input.cors_origins),
      hostnames: input.hostnames === undefined ? undefined : [...new Set(input.hostnames)],
    },
    by,
  );
  if (outcome.status === 'hostname_taken')
    throw new AppError('conflict', 'another tenant serves one of these hostnames');
  if (outcome.status === 'not_found') unknownTenant();
  const alg = input.settings?.signing_algorithm;
  if (alg !== undefined) await signWith(deps, outcome.tenant.id, slug, alg, by);
  return outcome.tenant;
}

/**
 * A changed signing algorithm applies to the next token: a key of that algorithm is rotated in
 * at once (the old key stays published, so its tokens verify until retired). Only when the
 * active key has another algorithm; two or three round trips on this rare write.
 */
async function signWith(
  deps: Deps,
  tenantId: string,
  slug: string,
  alg: SigningAlgorithm,
  by: AdminActor,
): Promise<void> {
  const listed = await listSigningKeys(deps.db, slug);
  if (listed?.keys.some((key) => key.status === 'active' && key.alg === alg) !== false) return;
  const { kid } = await rotateSigningKey(
    { db: deps.db, secretKey: deps.config.secretKey, random: deps.random },
    tenantId,
    alg,
  );
  await recordAuditEvent(
    deps.db,
    adminEvent(by, 'admin.signing_key.rotated', tenantId, { type: 'signing_key', id: kid }),
  );
}

/**
 * Rotates in a new active signing key (the given algorithm, else the tenant's setting); the old
 * key stays published. Records `admin.signing_key.rotated`; three round trips. Returns the kid.
 */
export async function rotateSigningKeyByAdmin(
  deps: Deps,
  slug: string,
  alg: SigningAlgorithm | undefined,
  by: AdminActor,
): Promise<string> {
  const tenant = (await getTenant(deps.db, slug)) ?? unknownTenant();
  const { kid } = await rotateSigningKey(
    { db: deps.db, secretKey: deps.config.secretKey, random: deps.random },
    tenant.id,
    alg ?? tenant.settings.signingAlgorithm,
  );
  // rotateSigningKey owns its batch: the event is its own round trip.
  await recordAuditEvent(
    deps.db,
    adminEvent(by, 'admin.signing_key.rotated', tenant.id, { type: 'signing_key', id: kid }),
  );
  return kid;
}
