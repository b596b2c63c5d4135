// Dev and test tooling, never deployed: speaks the Upstash Redis REST protocol on 127.0.0.1, so
// @upstash/redis and @upstash/ratelimit run their production code unchanged.
//   POST /            body ["CMD", "arg", ...]           → {result} | 400 {error}
//   POST /pipeline    body [["CMD", ...], ...]           → [{result} | {error}, ...]
//   POST /multi-exec  the same, run inside MULTI/EXEC    → [...] | 400 {error} if refused whole
// `Authorization: Bearer <token>` is required (401 otherwise). With `Upstash-Encoding: base64`
// every string in a result, nested ones too, is base64 of its bytes, except a plain "OK" status;
// numbers and null are left as they are. Source: Upstash's REST API docs and @upstash/redis
// (pkg/http.ts, which decodes exactly that way).
// Backed by a real redis-server when one is installed, else by an in-process emulation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { findRedisServer, startRedisBackend, type RedisServer } from './redis.ts';
import { createEmulatedBackend } from './redis-emulator.ts';
import { ErrorReply, StatusReply, type RedisBackend, type Reply } from './redis-reply.ts';

export type UpstashBackendKind = 'redis' | 'emulated';

export interface UpstashEndpointOptions {
  /** `auto` (the default): a real redis-server when installed, else the emulation. */
  backend?: UpstashBackendKind | 'auto';
  /** Bearer token to require; a random one when not given. */
  token?: string;
  port?: number;
  log?: (line: string) => void;
}

export interface UpstashEndpoint {
  /** Value for UPSTASH_REDIS_REST_URL. */
  url: string;
  /** Value for UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  backend: UpstashBackendKind;
  port: number;
  /** The redis-server behind it (null: the emulation). */
  redisServer: RedisServer | null;
  close(): Promise<void>;
}

/** Commands that would change the shared connection's state or block it: not over REST. */
const REFUSED = new Set([
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'select',
  'swapdb',
  'quit',
  'reset',
  'hello',
  'auth',
  'client',
  'monitor',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'xread',
  'xreadgroup',
  'wait',
  'waitaof',
  'shutdown',
  'debug',
  'config',
  'replicaof',
  'slaveof',
  'sync',
  'psync',
  'failover',
  'module',
]);

class BadRequest extends Error {}

export async function startUpstashEndpoint(
  options: UpstashEndpointOptions = {},
): Promise<UpstashEndpoint> {
  const wanted = options.backend ?? 'auto';
  const useRedis = wanted === 'redis' || (wanted === 'auto' && findRedisServer() !== null);
  const redisBackend = useRedis ? await startRedisBackend({ log: options.log }) : null;
  const backend: RedisBackend = redisBackend ?? createEmulatedBackend();
  const token = options.token ?? randomBytes(24).toString('base64url');
  const tokenDigest = digest(token);

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof BadRequest) return send(response, 400, { error: error.message });
      send(response, 500, {
        error: `ERR ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path =
      new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    if (request.method !== 'POST') return send(response, 405, { error: 'Method not allowed' });
    // Checked before the path, as a reverse proxy in front of Upstash would: no probing unauthenticated.
    if (!authorized(request.headers.authorization, tokenDigest)) {
      return send(response, 401, { error: 'Unauthorized' });
    }
    const base64 =
      (request.headers['upstash-encoding'] ?? '').toString().toLowerCase() === 'base64';
    const encode = (reply: Reply): unknown => encodeResult(reply, base64, true);
    const body = parseJSON(await readBody(request));

    if (path === '/') {
      const [reply = null] = await runAllowed(backend, [commandFrom(body)]);
      if (reply instanceof ErrorReply) return send(response, 400, { error: reply.message });
      return send(response, 200, { result: encode(reply) });
    }
    if (path === '/pipeline' || path === '/multi-exec') {
      if (!Array.isArray(body) || body.length === 0) {
        throw new BadRequest('ERR pipeline body must be a non-empty array of commands');
      }
      const commands = body.map(commandFrom);
      if (path === '/multi-exec') {
        const refusal = commands.map(refusedCommand).find((reply) => reply !== null);
        if (refusal) return send(response, 400, { error: refusal.message });
        const replies = await backend.transaction(commands);
        if (replies instanceof ErrorReply) return send(response, 400, { error: replies.message });
        return send(
          response,
          200,
          replies.map((reply) => entry(reply, encode)),
        );
      }
      const replies = await runAllowed(backend, commands);
      return send(
        response,
        200,
        replies.map((reply) => entry(reply, encode)),
      );
    }
    send(response, 404, { error: 'Not found' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  options.log?.(`Upstash REST endpoint on 127.0.0.1:${port} (${backend.kind})`);
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    backend: backend.kind,
    port,
    redisServer: redisBackend?.server ?? null,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await backend.close();
    },
  };
}

/** Runs the commands that are allowed; refused ones answer with their error in place. */
async function runAllowed(backend: RedisBackend, commands: string[][]): Promise<Reply[]> {
  const allowed = commands.filter((command) => refusedCommand(command) === null);
  const replies = allowed.length > 0 ? await backend.run(allowed) : [];
  let next = 0;
  return commands.map((command) => refusedCommand(command) ?? replies[next++] ?? null);
}

function refusedCommand(command: string[]): ErrorReply | null {
  const name = command[0]!.toLowerCase();
  return REFUSED.has(name) ? new ErrorReply(`ERR Command is not allowed: ${name}`) : null;
}

function entry(
  reply: Reply,
  encode: (reply: Reply) => unknown,
): { result: unknown } | { error: string } {
  return reply instanceof ErrorReply ? { error: reply.message } : { result: encode(reply) };
}

/** A command array: strings as they are, numbers and booleans in their JSON text. */
function commandFrom(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR a command must be a non-empty JSON array');
  }
  return value.map((arg) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    if (arg === null) return 'null';
    throw new BadRequest('ERR command arguments must be strings, numbers or booleans');
  });
}

function encodeResult(reply: Reply, base64: boolean, topLevel: boolean): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeResult(item, base64, false));
  if (reply instanceof ErrorReply) return encodeResult(reply.message, base64, false);
  if (reply instanceof StatusReply) {
    // Upstash leaves the plain "OK" reply as it is; the client special-cases it the same way.
    return topLevel && reply.status === 'OK' ? 'OK' : encodeResult(reply.status, base64, false);
  }
  const bytes = typeof reply === 'string' ? Buffer.from(reply, 'utf8') : Buffer.from(reply);
  return base64 ? bytes.toString('base64') : bytes.toString('utf8');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Compares digests in constant time: the token never meets `===`. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequest('ERR failed to parse the request body as JSON');
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
