// Operator CLI: `npm run cli -- <command> [--flag=value …]`, against DATABASE_URL and SECRET_KEY.
// Each command's module is imported only when that command runs: Node's loader leaves ~150 MB of
// garbage behind when it loads drizzle-orm (measured: peak RSS 390 MB for the bare usage text
// before, 63 MB now), which the usage text and a mistyped command should not pay.

const USAGE = `usage: npm run cli -- <command> [options]

commands:
  create-tenant --slug=<slug> --name=<name> [--cors-origin=<origin> …] [--hostname=<host> …] [--if-not-exists]
  audit-verify --tenant <slug> | --global     verify a tenant's audit HMAC chain (exit 1 if broken)
  secret-rotation-status                     rows still sealed under SECRET_KEY_PREVIOUS, per table
                                              (exit 0 when none remain, 3 while some do)
  bootstrap-code                             print a new first-owner bootstrap code (only while no owner exists)
  export-tenant --slug=<slug> --output=<file> [--passphrase=<p> | --passphrase-env=<VAR>] [--force]
                                              write the tenant as an encrypted bkp1 archive
  import-tenant --input=<file> [--passphrase=<p> | --passphrase-env=<VAR>] [--slug=<new-slug>]
                                              restore an archive (or copy it under another slug)
  metrics --tenant <slug> [--window 15m] [--json]
                                              p95 login latency, 5xx rate, 401 rate on login and
                                              429 rate on the MFA challenge over the window

environment: DATABASE_URL, SECRET_KEY, SECRET_KEY_PREVIOUS (as the Worker has them); ENVIRONMENT (unset: production,
  where a DATABASE_URL to a host other than loopback needs sslmode=require or stricter);
  metrics: UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN`;

interface CommandContext {
  secretKey: Uint8Array;
  /** SECRET_KEY_PREVIOUS, during a rotation (README, "Rotating SECRET_KEY"). */
  secretKeyPrevious: Uint8Array | null;
  databaseURL: string;
}

/** SECRET_KEY and DATABASE_URL, validated as the Worker validates its bindings. */
async function contextFromEnv(): Promise<CommandContext> {
  const { validateEnv } = await import('../src/env.ts');
  const result = validateEnv({
    ENVIRONMENT: 'development',
    PUBLIC_BASE_URL: 'http://localhost',
    SECRET_KEY: process.env.SECRET_KEY,
    SECRET_KEY_PREVIOUS: process.env.SECRET_KEY_PREVIOUS,
    DATABASE_URL: process.env.DATABASE_URL,
  });
  if (!result.ok) {
    throw new Error(result.problems.map((p) => `${p.setting} ${p.message}`).join('; '));
  }
  return {
    secretKey: result.config.secretKey,
    secretKeyPrevious: result.config.secretKeyPrevious,
    databaseURL: process.env.DATABASE_URL ?? '',
  };
}

const COMMANDS: Record<string, (args: string[]) => Promise<number | void>> = {
  async 'export-tenant'(args) {
    const { exportTenantCommand } = await import('./commands/tenant-backup.ts');
    return exportTenantCommand(args, await contextFromEnv());
  },
  async 'import-tenant'(args) {
    const { importTenantCommand } = await import('./commands/tenant-backup.ts');
    return importTenantCommand(args, await contextFromEnv());
  },
  async 'create-tenant'(args) {
    const { createTenantCommand } = await import('./commands/create-tenant.ts');
    return createTenantCommand(args, await contextFromEnv());
  },
  async 'bootstrap-code'() {
    const { bootstrapCodeCommand } = await import('./commands/bootstrap-code.ts');
    return bootstrapCodeCommand(process.env.DATABASE_URL?.trim() ?? '');
  },
  async 'secret-rotation-status'() {
    const { secretRotationStatusCommand } = await import('./commands/secret-rotation-status.ts');
    return secretRotationStatusCommand(await contextFromEnv());
  },
  async metrics(args) {
    const { metricsCommand } = await import('./commands/metrics.ts');
    return metricsCommand(args);
  },
  async 'audit-verify'(args) {
    const { auditVerifyCommand } = await import('./commands/audit-verify.ts');
    return auditVerifyCommand(args, await contextFromEnv());
  },
};

/** The production rule for DATABASE_URL (src/lib/database-url.ts), before any command connects. */
async function databaseURLRefusal(): Promise<string | null> {
  const url = process.env.DATABASE_URL?.trim() ?? '';
  const { databaseURLTLSProblem, isProductionEnvironment } =
    await import('../src/lib/database-url.ts');
  if (url === '' || !isProductionEnvironment(process.env.ENVIRONMENT)) return null;
  const problem = databaseURLTLSProblem(url);
  return problem === null ? null : `DATABASE_URL ${problem} (ENVIRONMENT unset or production)`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  // Own keys only: `npm run cli -- toString` is an unknown command, not Object.prototype's.
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  const refusal = await databaseURLRefusal();
  if (refusal !== null) {
    console.error(`error: refused: ${refusal}`);
    return 1;
  }
  try {
    return (await command(args)) ?? 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// An ES module for its top-level await, though it imports nothing until a command runs.
export {};

process.exitCode = await main(process.argv.slice(2));
