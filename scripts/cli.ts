// Operator CLI: `npm run cli -- <command> [--flag=value …]`, against DATABASE_URL and SECRET_KEY.
import { parseArgs } from 'node:util';
import { cryptoRandom } from '../src/deps.ts';
import { validateEnv } from '../src/env.ts';
import { AppError } from '../src/errors.ts';
import { createTenant } from '../src/features/tenants/service.ts';
import { auditVerifyCommand } from './commands/audit-verify.ts';
import { bootstrapCodeCommand } from './commands/bootstrap-code.ts';
import {
  BACKUP_USAGE,
  exportTenantCommand,
  importTenantCommand,
} from './commands/tenant-backup.ts';
import { openDatabase } from './lib/database.ts';

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  create-tenant --slug=<slug> --name=<name> [--cors-origin=<origin> …] [--hostname=<host> …] [--if-not-exists]
  audit-verify --tenant <slug> | --global     verify a tenant's audit HMAC chain (exit 1 if broken)
  bootstrap-code                             print a new first-owner bootstrap code (only while no owner exists)
${BACKUP_USAGE}

environment: DATABASE_URL, SECRET_KEY (as the Worker has them)`;

function secretKeyFromEnv(): Uint8Array {
  const result = validateEnv({
    ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: 'http://localhost',
    SECRET_KEY: process.env.SECRET_KEY,
    DATABASE_URL: process.env.DATABASE_URL,
  });
  if (!result.ok) {
    throw new Error(result.problems.map((p) => `${p.setting} ${p.message}`).join('; '));
  }
  return result.config.secretKey;
}

async function createTenantCommand(args: string[]): Promise<void> {
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
  const secretKey = secretKeyFromEnv();
  const { db, close } = await openDatabase(process.env.DATABASE_URL!);
  try {
    const tenant = await createTenant(
      { db, secretKey, random: cryptoRandom },
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

const COMMANDS: Record<string, (args: string[]) => Promise<number | void>> = {
  'export-tenant': (args) =>
    exportTenantCommand(args, {
      secretKey: secretKeyFromEnv(),
      databaseURL: process.env.DATABASE_URL ?? '',
    }),
  'import-tenant': (args) =>
    importTenantCommand(args, {
      secretKey: secretKeyFromEnv(),
      databaseURL: process.env.DATABASE_URL ?? '',
    }),
  'create-tenant': createTenantCommand,
  'bootstrap-code': () => bootstrapCodeCommand(process.env.DATABASE_URL?.trim() ?? ''),
  'audit-verify': (args) =>
    auditVerifyCommand(args, {
      secretKey: secretKeyFromEnv(),
      databaseURL: process.env.DATABASE_URL ?? '',
    }),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  try {
    return (await command(args)) ?? 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
