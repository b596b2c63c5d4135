// `npm run cli -- create-tenant --slug=<slug> [--name=…] [--cors-origin=… …] [--hostname=… …]
// [--if-not-exists]`: the Worker's own createTenant, against DATABASE_URL.
import { parseArgs } from 'node:util';
import { cryptoRandom } from '../../src/deps.ts';
import { AppError } from '../../src/errors.ts';
import { createTenant } from '../../src/features/tenants/service.ts';
import { openDatabase } from '../lib/database.ts';

export interface CommandContext {
  secretKey: Uint8Array;
  databaseURL: string;
}

export async function createTenantCommand(args: string[], context: CommandContext): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      slug: { type: 'string' },
      name: { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      hostname: { type: 'string', multiple: true },
      'if-not-exists': { type: 'boolean' },
    },
  });
  if (values.slug === undefined) throw new Error('--slug is required');
  const { db, close } = await openDatabase(context.databaseURL);
  try {
    const tenant = await createTenant(
      { db, secretKey: context.secretKey, random: cryptoRandom },
      {
        slug: values.slug,
        name: values.name ?? values.slug,
        corsOrigins: values['cors-origin'] ?? [],
        hostnames: values.hostname ?? [],
      },
    );
    console.log(`created tenant ${tenant.slug} (${tenant.id})`);
  } catch (error) {
    if (values['if-not-exists'] && error instanceof AppError && error.code === 'conflict') {
      console.log(`tenant ${values.slug} exists`);
      return;
    }
    throw error;
  } finally {
    await close();
  }
}
