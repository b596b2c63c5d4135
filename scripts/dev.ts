// `npm run dev`: the whole service on this machine, offline, with no account anywhere.
//   Postgres     PGlite over the wire protocol, data in .data/pglite (or DATABASE_URL's server)
//   Neon         the HTTP (/sql) and WebSocket (/v1) endpoints in front of it
//   Upstash      the Redis REST endpoint (redis-server when installed, else the emulation)
//   migrations   applied, then the `default` tenant created (when scripts/cli.ts exists)
//   first run    while no operator exists: a bootstrap code (as db:migrate issues it) and the
//                console's first-run URL, printed once when the Worker answers
//   mail         a local SMTP server taking every message: saved as .eml in .data/mail, one log
//                line each with its subject and links (SMTP_URL and MAIL_FROM point the Worker at it)
//   Worker       `wrangler dev` on 127.0.0.1:8787 with R2, queue and cron state in .data/wrangler
// Settings reach wrangler through a generated env file (.data/dev.vars, passed with --env-file):
// the developer's own .dev.vars (or .dev.vars.example) plus this run's ports and token. The
// developer's .dev.vars is read, never written.
// Environment: PORT (default 8787), DATABASE_URL (use that Postgres instead of PGlite),
// GATEHOUSE_DEV_DATA_DIR (default .data), GATEHOUSE_UPSTASH_BACKEND (auto | redis | emulated).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printBootstrapCode } from './commands/bootstrap-code.ts';
import { openDatabase } from './lib/database.ts';
import { startDevMail } from './stack/dev-mail.ts';
import { applyMigrations } from './stack/migrate.ts';
import { startNeonEndpoint } from './stack/neon-endpoint.ts';
import { startPostgres, type PostgresTarget } from './stack/postgres.ts';
import { startUpstashEndpoint } from './stack/upstash-endpoint.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8787);
const DATA_DIR = resolve(ROOT, process.env.GATEHOUSE_DEV_DATA_DIR ?? '.data');
/** The database name the Worker's DATABASE_URL names and the Neon endpoint maps (PGlite). */
const DEV_DATABASE = 'gatehouse';

const started = performance.now();
const cleanups: { name: string; run: () => Promise<void> }[] = [];
let wrangler: ChildProcess | null = null;
let stopping = false;

const say = (line: string): void => console.log(`[dev] ${line}`);
const shown = (path: string): string => relative(process.cwd(), path) || '.';

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(0, `${signal} received`));
  }
  if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65_535)
    throw new Error('PORT must be a port number');
  mkdirSync(DATA_DIR, { recursive: true });
  lockDataDir();

  const { target, workerDatabaseURL, cliDatabaseURL } = await startDatabase();
  const neon = await startNeonEndpoint({
    databases: new Map([
      [target.database, target],
      [DEV_DATABASE, target],
    ]),
  });
  cleanups.push({ name: 'Neon endpoint', run: () => neon.close() });
  say(`Neon         ${neon.httpURL} and ws://${neon.wsProxy}`);

  const backend = process.env.GATEHOUSE_UPSTASH_BACKEND ?? 'auto';
  if (backend !== 'auto' && backend !== 'redis' && backend !== 'emulated') {
    throw new Error('GATEHOUSE_UPSTASH_BACKEND must be auto, redis or emulated');
  }
  let redisServer = '';
  const upstash = await startUpstashEndpoint({
    backend,
    log: (line) => {
      if (line.startsWith('redis-server')) redisServer = line;
    },
  });
  cleanups.push({ name: 'Upstash endpoint', run: () => upstash.close() });
  const behind = upstash.backend === 'redis' ? redisServer : 'in-process Redis emulation';
  say(`Upstash      ${upstash.url} (${behind})`);

  const mailDir = join(DATA_DIR, 'mail');
  const mail = await startDevMail({ dir: mailDir, say });
  cleanups.push({ name: 'SMTP server', run: () => mail.close() });
  say(`mail         smtp://${mail.host}:${mail.port} (every message saved in ${shown(mailDir)})`);

  const version = await applyMigrations(target);
  say(`migrations   applied (schema version ${version})`);

  const vars = writeDevVars({
    DATABASE_URL: workerDatabaseURL,
    DEV_NEON_HTTP_ENDPOINT: neon.httpURL,
    DEV_NEON_WS_PROXY: neon.wsProxy,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    // Plain SMTP to loopback: the local server has no certificate for workerd to verify.
    SMTP_URL: `smtp://${mail.host}:${mail.port}?tls=none`,
  });
  // The CLI encrypts tenant keys with SECRET_KEY: it must be the one the Worker gets.
  await createDefaultTenant({
    DATABASE_URL: cliDatabaseURL,
    SECRET_KEY: vars.values.get('SECRET_KEY')!,
  });
  const firstRun = await firstRunLines(cliDatabaseURL);

  const persistDir = join(DATA_DIR, 'wrangler');
  wrangler = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules', '.bin', 'wrangler'),
      'dev',
      '--ip',
      HOST,
      '--port',
      String(PORT),
      '--test-scheduled',
      '--persist-to',
      persistDir,
      '--env-file',
      vars.path,
      // `npm run bench -- --profile`: readable function names in the CPU profile.
      ...(process.env.GATEHOUSE_DEV_NO_MINIFY === '1' ? ['--minify=false'] : []),
    ],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        // Offline: no Request.cf lookup, no metrics, and no banner (its update check is a fetch).
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_HIDE_BANNER: 'true',
      },
    },
  );
  wrangler.on('exit', (code, signal) => {
    wrangler = null;
    void shutdown(
      code ?? (signal === null ? 0 : 1),
      `wrangler exited (${signal ?? `code ${code}`})`,
    );
  });
  say(
    `Worker       http://${HOST}:${PORT} (wrangler dev; R2, queue and cron state in ${shown(persistDir)})`,
  );
  await announceWhenReady(firstRun);
}

/**
 * A fresh data folder has no operator: issue the first-owner bootstrap code exactly as
 * `db:migrate` does (nothing new while an earlier code is live; nothing once an owner exists) and
 * point at the console's first-run page, so nobody has to find PGlite's port to run the CLI.
 * Returned, not printed: it is shown once, after wrangler's start-up output, when the Worker answers.
 */
async function firstRunLines(databaseURL: string): Promise<string[]> {
  const lines: string[] = [];
  const { db, close } = await openDatabase(databaseURL);
  try {
    await printBootstrapCode(db, (line) => lines.push(`first run    ${line}`), {
      replace: false,
    });
  } finally {
    await close();
  }
  const consoleURL = `http://${HOST}:${PORT}/admin/`;
  if (lines.length > 0) lines.push(`first run    open ${consoleURL}setup and enter the code there`);
  lines.push(`console      ${consoleURL}`);
  return lines;
}

interface Database {
  target: PostgresTarget;
  /** DATABASE_URL for the Worker: its database name is one the Neon endpoint maps. */
  workerDatabaseURL: string;
  /** DATABASE_URL for Node tools (the CLI): the server itself. */
  cliDatabaseURL: string;
}

/** PGlite by default; the server DATABASE_URL names when it is set. */
async function startDatabase(): Promise<Database> {
  const external = process.env.DATABASE_URL;
  if (external !== undefined && external !== '') {
    const url = new URL(external);
    // The Neon endpoint's pool spreads the target into pg's config: the password rides along.
    const target: PostgresTarget = Object.assign(
      {
        host: url.hostname,
        port: Number(url.port || 5432),
        user: decodeURIComponent(url.username),
        database: decodeURIComponent(url.pathname.slice(1)),
      },
      { password: decodeURIComponent(url.password) },
    );
    say(`Postgres     ${url.hostname}:${target.port}/${target.database} (DATABASE_URL)`);
    // The Worker keeps the URL as given: its WebSocket path authenticates with that password.
    return { target, workerDatabaseURL: external, cliDatabaseURL: external };
  }
  const dataDir = join(DATA_DIR, 'pglite');
  const server = await startPostgres({ preferPGlite: true, dataDir });
  cleanups.push({ name: 'PGlite', run: () => server.stop() });
  const target = await server.createDatabase(DEV_DATABASE);
  say(`Postgres     PGlite on ${target.host}:${target.port} (data in ${shown(dataDir)})`);
  return {
    target,
    workerDatabaseURL: `postgres://gatehouse@localhost/${DEV_DATABASE}`,
    cliDatabaseURL: server.url(target.database),
  };
}

/** Two dev stacks on one PGlite directory would corrupt it. */
function lockDataDir(): void {
  const lock = join(DATA_DIR, 'dev.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
      throw new Error(
        `another npm run dev (pid ${pid}) is using ${shown(DATA_DIR)}; stop it first`,
      );
    }
  }
  writeFileSync(lock, String(process.pid));
  cleanups.unshift({ name: 'lock', run: async () => rmSync(lock, { force: true }) });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function createDefaultTenant(env: {
  DATABASE_URL: string;
  SECRET_KEY: string;
}): Promise<void> {
  const cli = join(ROOT, 'scripts', 'cli.ts');
  if (!existsSync(cli)) {
    say(
      'tenant       skipped: scripts/cli.ts does not exist yet (create-tenant runs once it does)',
    );
    return;
  }
  const args = [cli, 'create-tenant', '--slug=default', '--name=Default', '--if-not-exists'];
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...env },
    });
    child.on('error', fail);
    child.on('exit', done);
  });
  if (code !== 0) throw new Error(`scripts/cli.ts create-tenant failed (exit code ${code})`);
  say('tenant       default (create-tenant --if-not-exists)');
}

/** Parses KEY=VALUE lines (dotenv's basic form: comments, blank lines, optional quotes). */
function readVars(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const raw = match[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    vars.set(match[1]!, quoted ? quoted[2]! : raw.replace(/\s+#.*$/, ''));
  }
  return vars;
}

/**
 * The developer's .dev.vars wins for every setting it names; without one, .dev.vars.example
 * supplies SECRET_KEY and the rest. This run's endpoints always win: their ports change per run.
 */
function writeDevVars(stack: Record<string, string>): {
  path: string;
  values: Map<string, string>;
} {
  const own = join(ROOT, '.dev.vars');
  const source = existsSync(own) ? own : join(ROOT, '.dev.vars.example');
  const vars = new Map<string, string>([
    ['ENVIRONMENT', 'development'],
    ['PUBLIC_BASE_URL', `http://${HOST}:${PORT}`],
    ['COOKIE_SECURE', 'false'],
    ['DEFAULT_TENANT', 'default'],
  ]);
  for (const [key, value] of readVars(source)) vars.set(key, value);
  if (source !== own) vars.set('PUBLIC_BASE_URL', `http://${HOST}:${PORT}`); // follows PORT
  if (!vars.get('MAIL_FROM'))
    vars.set('MAIL_FROM', 'Gatehouse (dev) <no-reply@gatehouse.localhost>');
  if (!vars.get('SECRET_KEY')) throw new Error(`SECRET_KEY is missing from ${shown(source)}`);
  for (const [key, value] of Object.entries(stack)) vars.set(key, value);
  const path = join(DATA_DIR, 'dev.vars');
  const header = `# Generated by npm run dev from ${relative(ROOT, source)} on each start; edit that file instead.\n`;
  writeFileSync(path, header + [...vars].map(([key, value]) => `${key}=${value}\n`).join(''), {
    mode: 0o600,
  });
  say(`settings     ${shown(path)} (from ${relative(ROOT, source)})`);
  return { path, values: vars };
}

async function announceWhenReady(firstRun: string[]): Promise<void> {
  const url = `http://${HOST}:${PORT}/health/ready`;
  const deadline = Date.now() + 120_000;
  while (!stopping && Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        say(`ready in ${seconds} s: ${url} answers 200. Ctrl-C stops everything.`);
        say(`cron: curl "http://${HOST}:${PORT}/__scheduled?cron=17+3+*+*+*"`);
        for (const line of firstRun) say(line);
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (stopping) return;
  say(`${url} did not answer 200 within 120 s; see wrangler's output above`);
  for (const line of firstRun) say(line);
}

async function shutdown(code: number, reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`stopping (${reason})`);
  const child = wrangler;
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  }
  for (const cleanup of cleanups.reverse()) {
    await cleanup
      .run()
      .catch((error: unknown) => say(`stopping ${cleanup.name} failed: ${String(error)}`));
  }
  say('stopped');
  process.exit(code);
}

main().catch((error: unknown) => {
  console.error(`[dev] failed: ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1, 'start-up failed');
});
