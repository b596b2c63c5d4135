// Starts a Postgres protocol server for development and tests: a real PostgreSQL when its binaries
// are installed (CI installs Debian's), otherwise PGlite behind @electric-sql/pglite-socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  kind: 'postgresql' | 'pglite';
  host: string;
  port: number;
  user: string;
  /** The postmaster's process (PostgreSQL only; the fault suite pauses and kills it). */
  pid?: number | undefined;
  /** A connection string for `database` on this server. */
  url(database: string): string;
  /** Creates a database (PGlite: starts another instance, as PGlite holds one database). */
  createDatabase(name: string): Promise<PostgresTarget>;
  stop(): Promise<void>;
}

/** Where one named database is actually served. */
export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface StartPostgresOptions {
  /** Keep data here across runs (dev); a fresh temporary directory otherwise. */
  dataDir?: string;
  /** Force PGlite even when PostgreSQL is installed. */
  preferPGlite?: boolean;
  /**
   * Keep synchronous_commit on: an acknowledged commit survives the server being killed (the
   * fault suite). fsync stays off either way: the machine itself does not crash.
   */
  durable?: boolean;
  /** Listen here (a restart on the same data directory keeps its address); a free port otherwise. */
  port?: number;
  log?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function findPostgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : null;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = options.preferPGlite ? null : findPostgresBinaries();
  return bin !== null ? startPostgreSQL(bin, options) : startPGlite(options);
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user (or nobody). */
function unprivilegedUser(): { name: string; uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (id.status === 0)
      return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root and no unprivileged user (postgres, nobody) to run PostgreSQL');
}

/** Spawn options running a child as `user`: no runuser in between, so signals reach it. */
function asUser(user: ReturnType<typeof unprivilegedUser>): { uid?: number; gid?: number } {
  return user === null ? {} : { uid: user.uid, gid: user.gid };
}

async function startPostgreSQL(
  bin: string,
  options: StartPostgresOptions,
): Promise<PostgresServer> {
  const user = unprivilegedUser();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  const temporary = options.dataDir === undefined;
  mkdirSync(dataDir, { recursive: true });
  if (user !== null) {
    chownSync(dataDir, user.uid, user.gid);
    chmodSync(dataDir, 0o700);
  }
  const pgData = join(dataDir, 'pgdata');
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    const result = spawnSync(
      join(bin, 'initdb'),
      ['-D', pgData, '-U', 'gatehouse', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      { encoding: 'utf8', ...asUser(user), cwd: dataDir },
    );
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr}`);
  }
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      pgData,
      '-p',
      String(port),
      '-k',
      dataDir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      // Test and dev data is disposable: trade durability for speed.
      '-c',
      'fsync=off',
      '-c',
      `synchronous_commit=${options.durable ? 'on' : 'off'}`,
      '-c',
      'full_page_writes=off',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...asUser(user), cwd: dataDir },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const host = '127.0.0.1';
  await waitForConnection({ host, port, user: 'gatehouse', database: 'postgres' }, () => stderr);
  options.log?.(`PostgreSQL (${bin}) on ${host}:${port}`);
  return {
    kind: 'postgresql',
    host,
    port,
    user: 'gatehouse',
    pid: child.pid,
    url: (database) => `postgres://gatehouse@${host}:${port}/${database}`,
    async createDatabase(name) {
      const client = new pg.Client({ host, port, user: 'gatehouse', database: 'postgres' });
      await client.connect();
      try {
        const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
        if (exists.rowCount === 0) await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return { host, port, user: 'gatehouse', database: name };
    },
    async stop() {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT'); // fast shutdown
      });
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startPGlite(options: StartPostgresOptions): Promise<PostgresServer> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const host = '127.0.0.1';
  const instances: {
    db: InstanceType<typeof PGlite>;
    server: InstanceType<typeof PGLiteSocketServer>;
  }[] = [];

  const serve = async (dataDir: string | undefined): Promise<number> => {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
    await db.waitReady;
    const port = await freePort();
    // maxConnections > 1 turns on the transaction-aware multiplexer, so pools can share it.
    const server = new PGLiteSocketServer({ db, port, host, maxConnections: 100 });
    await server.start();
    instances.push({ db, server });
    return port;
  };

  const port = await serve(options.dataDir);
  options.log?.(
    `PGlite on ${host}:${port}${options.dataDir ? ` (data in ${options.dataDir})` : ''}`,
  );
  const byName = new Map<string, number>();
  return {
    kind: 'pglite',
    host,
    port,
    user: 'postgres',
    // PGlite serves one database whatever name is asked for; `postgres` is its own.
    url: () => `postgres://postgres@${host}:${port}/postgres`,
    async createDatabase(name) {
      let namedPort = byName.get(name);
      if (namedPort === undefined) {
        namedPort =
          byName.size === 0
            ? port
            : await serve(options.dataDir ? `${options.dataDir}-${name}` : undefined);
        byName.set(name, namedPort);
      }
      return { host, port: namedPort, user: 'postgres', database: 'postgres' };
    },
    async stop() {
      for (const { db, server } of instances) {
        await server.stop();
        await db.close();
      }
    },
  };
}

async function waitForConnection(
  config: pg.ClientConfig,
  diagnostics: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client(config);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline)
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${diagnostics()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
