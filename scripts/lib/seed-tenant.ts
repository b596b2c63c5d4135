// A tenant of `users` users for the backup benchmark and the backup memory test: created by the
// Worker's own createTenant (so it has its signing keys and audit chain), then its users inserted
// in one INSERT … SELECT generate_series, all with one precomputed password hash.
import type pg from 'pg';
import { createDatabase } from '../../src/db/client.ts';
import { cryptoRandom } from '../../src/deps.ts';
import { createPasswordHasher } from '../../src/features/accounts/password.ts';
import { createTenant } from '../../src/features/tenants/service.ts';
import type { BackupConfig } from '../commands/tenant-backup.ts';

/** Returns the tenant's id. */
export async function seedTenant(
  config: BackupConfig,
  client: pg.Client,
  options: { slug: string; users: number },
): Promise<string> {
  const tenant = await createTenant(
    { db: createDatabase(config), secretKey: config.secretKey, random: cryptoRandom },
    { slug: options.slug, name: `Seeded tenant ${options.slug}` },
  );
  const hash = await createPasswordHasher(config.secretKey).hash(
    'seeded password',
    new Uint8Array(16).fill(1),
  );
  await client.query(
    `insert into users (tenant_id, email, email_normalized, name, password_hash, email_verified)
     select $1, 'user' || n || '@example.com', 'user' || n || '@example.com', 'User ' || n, $2, n % 2 = 0
     from generate_series(1, $3::int) as n`,
    [tenant.id, hash, options.users],
  );
  return tenant.id;
}
