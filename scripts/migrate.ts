// `npm run db:migrate [-- --env-file <file>]`: the deploy step that changes the schema. Applies
// drizzle/ to DATABASE_URL (from the file when given, else the environment), prints each applied
// migration with its kind (additive or breaking, drizzle/kinds.json) and the schema version the
// Worker will check for. The Worker itself never migrates. In production (ENVIRONMENT unset or
// `production`) a DATABASE_URL to a non-loopback host must carry sslmode=require or stricter.
import { parseArgs } from 'node:util';
import { databaseURLTLSProblem, isProductionEnvironment } from '../src/lib/database-url.ts';
import { EnvFileError, readEnvFile, type Settings } from './lib/env-file.ts';
import { printBootstrapCode } from './commands/bootstrap-code.ts';
import { openDatabase } from './lib/database.ts';
import { applyMigrations } from './stack/migrate.ts';

interface MigrateContext {
  /** The environment's strings overlaid by each --env-file: what later steps read settings from. */
  settings: Settings;
  databaseURL: string;
  /** Where the database is, safe to print: host and database name, no credentials. */
  target: string;
  log(line: string): void;
}

/** One deploy step after another; later issues add theirs (e.g. printing a bootstrap code). */
type Step = (context: MigrateContext) => Promise<void>;

const applySchema: Step = async (context) => {
  const kinds = new Set<string>();
  const version = await applyMigrations(context.databaseURL, {
    onApplied(migration) {
      kinds.add(migration.kind);
      const note = migration.declared
        ? ''
        : ' (no kind in drizzle/kinds.json: counted as breaking)';
      context.log(`Applied ${migration.tag}: ${migration.kind}${note}`);
    },
  });
  // The line an operator acts on: breaking means builds older than this release refuse the
  // database (503 schema_mismatch) until the new one is deployed (docs/deploy.md).
  const summary =
    kinds.size === 0
      ? 'nothing to apply'
      : kinds.has('breaking')
        ? 'applied breaking migrations: older builds now refuse this database; deploy now'
        : 'applied additive migrations only: the running build keeps serving';
  context.log(`Migrated ${context.target}: schema version ${version}; ${summary}`);
};

/** A deployment without an operator gets a one-time code for its first owner, printed once. */
const issueBootstrapCode: Step = async (context) => {
  const { db, close } = await openDatabase(context.databaseURL);
  try {
    await printBootstrapCode(db, context.log, { replace: false });
  } finally {
    await close();
  }
};

const STEPS: Step[] = [applySchema, issueBootstrapCode];

class UsageError extends Error {}
/** A setting the command refuses to act on: exit 1, no usage text. */
class RefusalError extends Error {}

function readSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: { 'env-file': { type: 'string', multiple: true } },
    strict: true,
  });
  const settings: Settings = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) settings[name] = value;
  }
  // A file named on the command line is the operator's explicit choice: it wins.
  for (const file of values['env-file'] ?? []) Object.assign(settings, readEnvFile(file));
  return settings;
}

function databaseURLOf(settings: Settings): string {
  const url = settings.DATABASE_URL?.trim() ?? '';
  if (url === '') throw new UsageError('DATABASE_URL is not set (environment or --env-file)');
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError('DATABASE_URL must be a postgres:// URL');
  }
  if (isProductionEnvironment(settings.ENVIRONMENT)) {
    const problem = databaseURLTLSProblem(url);
    if (problem !== null) {
      throw new RefusalError(
        `DATABASE_URL ${problem} (ENVIRONMENT is ${settings.ENVIRONMENT ?? 'unset'}: production)`,
      );
    }
  }
  return url;
}

function describeTarget(databaseURL: string): string {
  const url = new URL(databaseURL);
  return `${url.host}${url.pathname}`;
}

async function main(argv: string[]): Promise<number> {
  let settings: Settings;
  let databaseURL: string;
  try {
    settings = readSettings(argv);
    databaseURL = databaseURLOf(settings);
  } catch (error) {
    if (error instanceof RefusalError) {
      console.error(`db:migrate: refused: ${error.message}`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof EnvFileError || isParseArgsError(error)) {
      console.error(`db:migrate: ${(error as Error).message}`);
      console.error('usage: npm run db:migrate [-- --env-file <file>]');
      return 2;
    }
    throw error;
  }
  const context: MigrateContext = {
    settings,
    databaseURL,
    target: describeTarget(databaseURL),
    log: (line) => console.log(line),
  };
  for (const step of STEPS) {
    try {
      await step(context);
    } catch (error) {
      console.error(
        `db:migrate: failed against ${context.target}: ${describeFailure(error, context)}`,
      );
      return 1;
    }
  }
  return 0;
}

/** The driver's message, with the connection string and its password cut out should it quote them. */
function describeFailure(error: unknown, context: MigrateContext): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  let message = error.message.split(context.databaseURL).join(context.target);
  const password = decodeURIComponent(new URL(context.databaseURL).password);
  if (password !== '') message = message.split(password).join('…');
  return `${message}${typeof code === 'string' ? ` (${code})` : ''}`;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

process.exitCode = await main(process.argv.slice(2));
