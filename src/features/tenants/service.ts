import type { Database } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import { isOrigin } from '../../env.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import type { Random } from '../../deps.ts';
import { signingKeys } from '../tokens/schema.ts';
import { generateSigningKey } from '../tokens/keys.ts';
import { SLUG, type Tenant } from './context.ts';
import { tenantHostnames, tenants } from './schema.ts';
import { resolveSettings, tenantSettingsSchema, type TenantSettings } from './settings.ts';

export interface CreateTenantInput {
  slug: string;
  name: string;
  settings?: Partial<TenantSettings>;
  corsOrigins?: string[];
  hostnames?: string[];
}

export interface TenantDeps {
  db: Database;
  secretKey: Uint8Array;
  random: Random;
}

const UNIQUE_VIOLATION = '23505';

export function validateCORSOrigins(origins: string[]): string[] {
  for (const origin of origins) {
    // `*` with credentials is refused by browsers and would hand sessions to every site.
    if (!isOrigin(origin)) {
      throw new AppError(
        'invalid_request',
        'each CORS origin must be an exact origin such as https://app.example.com',
      );
    }
  }
  return [...new Set(origins)];
}

/** Creates a tenant with its first signing key, in one atomic round trip. */
export async function createTenant(deps: TenantDeps, input: CreateTenantInput): Promise<Tenant> {
  if (!SLUG.test(input.slug)) {
    throw new AppError('invalid_request', 'slug must match ^[a-z0-9][a-z0-9-]{1,49}$');
  }
  const settings = tenantSettingsSchema.partial().parse(input.settings ?? {});
  const corsOrigins = validateCORSOrigins(input.corsOrigins ?? []);
  const id = crypto.randomUUID();
  const key = await generateSigningKey(
    deps.secretKey,
    id,
    resolveSettings(settings).signingAlgorithm,
    deps.random,
  );
  const hostnames = (input.hostnames ?? []).map((hostname) => hostname.toLowerCase());
  try {
    await deps.db.batch([
      deps.db
        .insert(tenants)
        .values({ id, slug: input.slug, name: input.name, settings, corsOrigins }),
      deps.db.insert(signingKeys).values({
        id: key.id,
        tenantId: id,
        kid: key.kid,
        alg: key.alg,
        publicJWK: key.publicJWK,
        privateKey: key.privateKey,
        status: 'active',
      }),
      ...hostnames.map((hostname) =>
        deps.db.insert(tenantHostnames).values({ hostname, tenantId: id }),
      ),
    ]);
  } catch (error) {
    if (pgErrorCode(error) === UNIQUE_VIOLATION) {
      throw new AppError('conflict', 'a tenant with that slug or hostname exists', {
        cause: error,
      });
    }
    throw error;
  }
  return {
    id,
    slug: input.slug,
    name: input.name,
    settings: resolveSettings(settings),
    corsOrigins,
  };
}
