// export-tenant and import-tenant: the Worker's own export and import code, run from Node
// against DATABASE_URL (a Neon URL directly; any other Postgres through the in-process endpoint).
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { cryptoRandom } from '../../src/deps.ts';
import type { Config } from '../../src/env.ts';
import { AppError } from '../../src/errors.ts';
import { recordAuditEvent } from '../../src/features/audit/events.ts';
import { startExport } from '../../src/features/backup/export.ts';
import { importTenant, type ImportResult } from '../../src/features/backup/import.ts';

export interface BackupCommandEnv {
  secretKey: Uint8Array;
  databaseURL: string;
}

export type BackupConfig = Pick<Config, 'databaseURL' | 'dev' | 'secretKey'>;

export interface BackupDatabase {
  config: BackupConfig;
  db: Database;
  close(): Promise<void>;
}

/**
 * The HTTP driver for single statements and the WebSocket driver for the export's snapshot and
 * the import's transaction; a local Postgres gets an in-process Neon endpoint for both.
 */
export async function openBackupDatabase(env: BackupCommandEnv): Promise<BackupDatabase> {
  const endpoint = await startBackupEndpoint(env);
  return { config: endpoint.config, db: createDatabase(endpoint.config), close: endpoint.close };
}

/**
 * The config the backup code needs to reach `env.databaseURL`: a Neon URL as it is, any other
 * Postgres through an in-process Neon endpoint, served until `close`. Split from
 * openBackupDatabase so the endpoint can run outside the isolate that runs the backup
 * (scripts/lib/backup-isolate.ts), as Neon's proxy runs outside a Worker's.
 */
export async function startBackupEndpoint(
  env: BackupCommandEnv,
): Promise<{ config: BackupConfig; close(): Promise<void> }> {
  const url = new URL(env.databaseURL);
  if (url.hostname.endsWith('.neon.tech')) {
    const config = {
      databaseURL: env.databaseURL,
      secretKey: env.secretKey,
      dev: { neonHTTPEndpoint: null, neonWSProxy: null },
    };
    return { config, close: async () => undefined };
  }
  // Loaded here, not at the top: the isolate that runs the backup never starts an endpoint.
  const { startNeonEndpoint } = await import('../stack/neon-endpoint.ts');
  const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const endpoint = await startNeonEndpoint({
    databases: new Map([
      [
        database,
        {
          host: url.hostname,
          port: Number(url.port || 5432),
          user: decodeURIComponent(url.username || 'postgres'),
          ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
          database,
        },
      ],
    ]),
  });
  const config = {
    databaseURL: env.databaseURL,
    secretKey: env.secretKey,
    dev: { neonHTTPEndpoint: endpoint.httpURL, neonWSProxy: endpoint.wsProxy },
  };
  return { config, close: () => endpoint.close() };
}

const PASSPHRASE_OPTIONS = {
  passphrase: { type: 'string' },
  'passphrase-env': { type: 'string' },
} as const;

async function resolvePassphrase(
  values: { passphrase?: string | undefined; 'passphrase-env'?: string | undefined },
  confirm: boolean,
): Promise<string> {
  if (values.passphrase !== undefined) return values.passphrase;
  const name = values['passphrase-env'];
  if (name !== undefined) {
    const value = process.env[name];
    if (value === undefined || value === '')
      throw new Error(`the environment variable ${name} is not set`);
    return value;
  }
  if (!process.stdin.isTTY) {
    throw new Error('give --passphrase or --passphrase-env (no terminal to ask in)');
  }
  const passphrase = await promptHidden('Passphrase (16+ characters): ');
  if (confirm && (await promptHidden('Repeat it: ')) !== passphrase) {
    throw new Error('the passphrases differ');
  }
  return passphrase;
}

/** Reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput(text: string): void };
  process.stderr.write(question);
  muted._writeToOutput = () => undefined;
  try {
    const [line] = (await once(rl, 'line')) as [string];
    return line;
  } finally {
    process.stderr.write('\n');
    rl.close();
  }
}

/** Progress on stderr: at most one line a second, so long work shows it is moving. */
function progressReporter(verb: string): (progress: { table: string; rows: number }) => void {
  let last = 0;
  return ({ table, rows }) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    process.stderr.write(`${verb} ${table}: ${rows.toLocaleString('en')} rows\n`);
  };
}

function describe(error: unknown): Error {
  if (error instanceof AppError) return new Error(`${error.message} (${error.code})`);
  return error instanceof Error ? error : new Error(String(error));
}

export async function exportTenantCommand(args: string[], env: BackupCommandEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      slug: { type: 'string' },
      output: { type: 'string' },
      force: { type: 'boolean' },
      ...PASSPHRASE_OPTIONS,
    },
  });
  if (values.slug === undefined || values.output === undefined)
    throw new Error('--slug and --output are required');
  if (existsSync(values.output) && values.force !== true) {
    throw new Error(`${values.output} exists; pass --force to overwrite it`);
  }
  const passphrase = await resolvePassphrase(values, true);
  const opened = await openBackupDatabase(env);
  try {
    const summary = await exportTenantToFile(opened, values.slug, passphrase, values.output, {
      onProgress: progressReporter('exporting'),
    });
    const rows = Object.values(summary.rows).reduce((sum, count) => sum + count, 0);
    process.stderr.write(
      `exported tenant ${values.slug}: ${rows.toLocaleString('en')} rows, ${summary.size.toLocaleString('en')} bytes → ${values.output}\n`,
    );
    return 0;
  } catch (error) {
    throw describe(error);
  } finally {
    await opened.close();
  }
}

/**
 * Writes the archive to a temporary file beside `output` and renames it into place only once
 * every byte is written: a failed export never leaves a file under the archive's name.
 */
export async function exportTenantToFile(
  opened: BackupDatabase,
  slug: string,
  passphrase: string,
  output: string,
  options: { onProgress?: (progress: { table: string; rows: number }) => void } = {},
): Promise<{ rows: Record<string, number>; size: number }> {
  const now = new Date();
  const started = await startExport(opened, slug, passphrase, {
    now,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  await recordAuditEvent(opened.db, {
    tenantId: started.tenant.id,
    type: 'admin.tenant.exported',
    actor: { type: 'system', id: 'cli' },
    target: { type: 'tenant', id: started.tenant.id },
    details: { schema_version: started.metadata.schemaVersion, via: 'cli' },
    at: now,
  });
  const temporary = join(
    dirname(output),
    `.${basename(output)}.${process.pid}.${Date.now()}.partial`,
  );
  try {
    await pipeline(
      Readable.fromWeb(started.archive as unknown as WebReadableStream),
      createWriteStream(temporary, { flags: 'wx', mode: 0o600 }),
    );
    const rows = await started.done;
    await rename(temporary, output);
    return { rows, size: (await stat(output)).size };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function importTenantCommand(args: string[], env: BackupCommandEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { input: { type: 'string' }, slug: { type: 'string' }, ...PASSPHRASE_OPTIONS },
  });
  if (values.input === undefined) throw new Error('--input is required');
  if (!existsSync(values.input)) throw new Error(`${values.input} does not exist`);
  const passphrase = await resolvePassphrase(values, false);
  const opened = await openBackupDatabase(env);
  try {
    const result = await importTenantFromFile(opened, values.input, passphrase, {
      ...(values.slug === undefined ? {} : { slug: values.slug }),
      onProgress: progressReporter('importing'),
    });
    const rows = Object.values(result.rows).reduce((sum, count) => sum + count, 0);
    process.stderr.write(
      `imported ${result.mode === 'copy' ? `a copy of ${result.archive.slug} as` : ''} tenant ${result.tenant.slug} (${result.tenant.id}): ${rows.toLocaleString('en')} rows\n`,
    );
    console.log(JSON.stringify({ tenant: result.tenant, mode: result.mode }));
    return 0;
  } catch (error) {
    throw describe(error);
  } finally {
    await opened.close();
  }
}

export async function importTenantFromFile(
  opened: BackupDatabase,
  input: string,
  passphrase: string,
  options: { slug?: string; onProgress?: (progress: { table: string; rows: number }) => void } = {},
): Promise<ImportResult> {
  const source = Readable.toWeb(createReadStream(input)) as unknown as ReadableStream<Uint8Array>;
  return importTenant(
    { config: opened.config, db: opened.db, random: cryptoRandom },
    source,
    passphrase,
    {
      ...options,
      actor: { type: 'system', id: 'cli' },
      now: new Date(),
    },
  );
}
