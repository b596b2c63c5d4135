// `npm run check-config -- --env-file <file>`: runs the Worker's own configuration validation
// (validateEnv from src/env.ts) before a deploy, on what the deployed Worker will see: the [vars]
// of wrangler.toml overlaid by the file (which holds the secrets that `wrangler secret put` sets).
// Prints `SETTING: message` per problem, never a value. Exit 0 valid, 1 invalid, 2 usage error.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateEnv, type ConfigProblem } from '../src/env.ts';
import {
  EnvFileError,
  readEnvFile,
  readWranglerBindings,
  readWranglerVars,
  type Settings,
} from './lib/env-file.ts';

const DEFAULT_WRANGLER = join(import.meta.dirname, '..', 'wrangler.toml');

const USAGE = `usage: npm run check-config -- --env-file <file> [--env-file <file>...] [--wrangler <path> | --no-wrangler]

  --env-file <file>   dotenv-style KEY=VALUE file; later files override earlier ones
  --wrangler <path>   wrangler.toml whose [vars] lie underneath the files (default: ./wrangler.toml)
  --no-wrangler       check the files alone`;

interface Options {
  envFiles: string[];
  wrangler: string | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'env-file': { type: 'string', multiple: true },
      wrangler: { type: 'string' },
      'no-wrangler': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const envFiles = values['env-file'] ?? [];
  if (envFiles.length === 0) throw new UsageError('--env-file is required');
  if (values['no-wrangler'] === true && values.wrangler !== undefined) {
    throw new UsageError('--wrangler and --no-wrangler exclude each other');
  }
  const wrangler =
    values['no-wrangler'] === true
      ? null
      : (values.wrangler ?? (existsSync(DEFAULT_WRANGLER) ? DEFAULT_WRANGLER : null));
  return { envFiles, wrangler };
}

class UsageError extends Error {}

/** What the deployed Worker would see as string bindings: [vars], then each file on top. */
function collectSettings(options: Options): Settings {
  const settings: Settings = options.wrangler === null ? {} : readWranglerVars(options.wrangler);
  for (const file of options.envFiles) Object.assign(settings, readEnvFile(file));
  return settings;
}

/** Settings whose values are credentials. */
const SECRET_SETTING = /SECRET|TOKEN|PASSWORD|KEY|CREDENTIAL|DATABASE_URL|SMTP_URL/i;

/** Validation messages name settings, not values; this makes sure of it for every secret given. */
function redactSecrets(text: string, settings: Settings): string {
  let out = text;
  for (const [name, value] of Object.entries(settings)) {
    if (SECRET_SETTING.test(name) && value.length >= 4) out = out.split(value).join('…');
  }
  return out;
}

function describeProblems(problems: ConfigProblem[], settings: Settings): string[] {
  return problems.map((problem) =>
    redactSecrets(`${problem.setting}: ${problem.message}`, settings),
  );
}

function main(argv: string[]): number {
  let options: Options;
  let settings: Settings;
  try {
    options = parseOptions(argv);
    settings = collectSettings(options);
  } catch (error) {
    if (error instanceof UsageError || error instanceof EnvFileError || isParseArgsError(error)) {
      console.error(`check-config: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }

  // The resource bindings wrangler.toml declares stand in as placeholders: with BACKUP_QUEUE
  // bound the Worker requires BACKUP_PASSPHRASE, so this check must know it is bound.
  const bindings = options.wrangler === null ? [] : readWranglerBindings(options.wrangler);
  const result = validateEnv({
    ...settings,
    ...Object.fromEntries(bindings.map((name) => [name, { binding: name }])),
  });
  if (!result.ok) {
    for (const line of describeProblems(result.problems, settings)) console.error(line);
    console.error(
      `check-config: ${result.problems.length} problem(s); the Worker would refuse to serve`,
    );
    return 1;
  }
  const sources = [
    ...(options.wrangler === null ? [] : [`${options.wrangler} [vars]`]),
    ...options.envFiles,
  ];
  console.log(
    `OK: configuration is valid for ENVIRONMENT=${result.config.environment} (${sources.join(' + ')})`,
  );
  return 0;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

process.exitCode = main(process.argv.slice(2));
