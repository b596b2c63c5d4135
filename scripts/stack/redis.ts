// Dev and test tooling: starts a throwaway redis-server (no persistence, loopback only, a free
// port) and wraps it as a backend for the Upstash REST endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './postgres.ts';
import { connectResp, type RespConnection } from './redis-resp.ts';
import { ErrorReply, sha1Hex, stripShebang, type RedisBackend, type Reply } from './redis-reply.ts';

export interface RedisServer {
  host: string;
  port: number;
  /** The server's process (the fault suite pauses and kills it). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The redis-server on PATH (or Debian's /usr/bin, /usr/sbin), or null when none is installed. */
export function findRedisServer(): string | null {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/bin',
    '/usr/sbin',
    '/usr/local/bin',
  ];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export async function startRedisServer(
  options: { binary?: string; log?: (line: string) => void } = {},
): Promise<RedisServer> {
  const binary = options.binary ?? findRedisServer();
  if (binary === null) throw new Error('redis-server is not installed');
  // Redis, unlike PostgreSQL, runs as root without complaint; its working directory is private.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const host = '127.0.0.1';
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      host,
      '--dir',
      dir,
      // Disposable data: no RDB snapshots, no AOF.
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      '--databases',
      '1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const connection = await connectResp(port, host);
      await connection.send([['PING']]);
      await connection.close();
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`redis-server did not start: ${String(error)}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  options.log?.(`redis-server (${binary}) on ${host}:${port}`);
  return {
    host,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SCRIPT_COMMANDS = new Set(['eval', 'eval_ro', 'evalsha', 'evalsha_ro', 'script']);

/**
 * A backend that forwards commands to a real redis-server. Scripts are passed without their
 * `#!lua` line, so Redis knows them by another SHA1 than the client computed; the backend keeps
 * the client's SHA1 → Redis's SHA1 map so that EVALSHA after an EVAL (the NOSCRIPT fallback of
 * @upstash/redis and @upstash/ratelimit) finds the script, and SCRIPT LOAD answers the client's SHA1.
 */
export async function startRedisBackend(
  options: { binary?: string; log?: (line: string) => void } = {},
): Promise<RedisBackend & { server: RedisServer }> {
  const server = await startRedisServer(options);
  let connection: RespConnection;
  try {
    connection = await connectResp(server.port, server.host);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const shas = new Map<string, string>();

  const rewrite = (command: string[]): { command: string[]; clientSHA?: string } => {
    const name = command[0]?.toLowerCase() ?? '';
    if (!SCRIPT_COMMANDS.has(name)) return { command };
    if ((name === 'eval' || name === 'eval_ro') && command.length > 1) {
      const script = command[1]!;
      const stripped = stripShebang(script);
      if (stripped !== script) shas.set(sha1Hex(script), sha1Hex(stripped));
      return { command: [command[0]!, stripped, ...command.slice(2)] };
    }
    if ((name === 'evalsha' || name === 'evalsha_ro') && command.length > 1) {
      const sha = command[1]!.toLowerCase();
      return { command: [command[0]!, shas.get(sha) ?? sha, ...command.slice(2)] };
    }
    const sub = command[1]?.toLowerCase();
    if (sub === 'load' && command.length === 3) {
      const script = command[2]!;
      const stripped = stripShebang(script);
      const clientSHA = sha1Hex(script);
      if (stripped !== script) shas.set(clientSHA, sha1Hex(stripped));
      return { command: [command[0]!, command[1]!, stripped], clientSHA };
    }
    if (sub === 'exists') {
      return {
        command: [
          command[0]!,
          command[1]!,
          ...command.slice(2).map((sha) => shas.get(sha.toLowerCase()) ?? sha),
        ],
      };
    }
    if (sub === 'flush') shas.clear();
    return { command };
  };

  const answer = (reply: Reply, clientSHA: string | undefined): Reply =>
    clientSHA !== undefined && !(reply instanceof ErrorReply) ? clientSHA : reply;

  return {
    kind: 'redis',
    server,
    async run(commands) {
      const rewritten = commands.map(rewrite);
      const replies = await connection.send(rewritten.map((entry) => entry.command));
      return replies.map((reply, i) => answer(reply, rewritten[i]!.clientSHA));
    },
    async transaction(commands) {
      const rewritten = commands.map(rewrite);
      const replies = await connection.send([
        ['MULTI'],
        ...rewritten.map((entry) => entry.command),
        ['EXEC'],
      ]);
      const exec = replies[replies.length - 1] ?? null;
      if (Array.isArray(exec))
        return exec.map((reply, i) => answer(reply, rewritten[i]!.clientSHA));
      // EXECABORT says only "previous errors": answer with the first queueing error instead.
      const queued = replies.slice(1, -1).find((reply) => reply instanceof ErrorReply);
      return queued instanceof ErrorReply
        ? queued
        : exec instanceof ErrorReply
          ? exec
          : new ErrorReply('ERR EXEC failed');
    },
    async close() {
      await connection.close();
      await server.stop();
    },
  };
}
