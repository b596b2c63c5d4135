// Dev and test tooling, never deployed: speaks Neon's two serverless protocols in front of a local
// Postgres, so the Worker runs its production driver code unchanged.
//   HTTP:      POST /sql  (Neon-Connection-String header; {query, params} or {queries: [...]})
//   WebSocket: /v1?address=host:port, forwarding binary frames to the Postgres TCP socket
// Source of the protocol: @neondatabase/serverless (src/httpQuery.ts, CONFIG.md).
// It counts SQL round trips per X-Request-Id so tests can assert each endpoint's budget.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PostgresTarget } from './postgres.ts';

export interface NeonEndpoint {
  /** Value for DEV_NEON_HTTP_ENDPOINT. */
  httpURL: string;
  /** Value for DEV_NEON_WS_PROXY (host:port/v1). */
  wsProxy: string;
  port: number;
  roundTrips(requestId: string): number;
  close(): Promise<void>;
}

export interface NeonEndpointOptions {
  /** Database name in the connection string → where it is served. */
  databases: Map<string, PostgresTarget>;
  port?: number;
  log?: (line: string) => void;
}

// Neon answers in text: every value exactly as Postgres prints it, parsed by the driver.
const rawText = { getTypeParser: () => (value: string) => value };

const ISOLATION: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

interface QueryInput {
  query: string;
  params?: unknown[];
}

export async function startNeonEndpoint(options: NeonEndpointOptions): Promise<NeonEndpoint> {
  const pools = new Map<string, pg.Pool>();
  const counts = new Map<string, number>();

  const poolFor = (connectionString: string | undefined): pg.Pool => {
    const database = connectionString ? new URL(connectionString).pathname.slice(1) : '';
    const target = options.databases.get(database);
    if (target === undefined)
      throw new HTTPError(400, `database "${database}" does not exist`, '3D000');
    let pool = pools.get(database);
    if (pool === undefined) {
      pool = new pg.Pool({ ...target, max: 20, idleTimeoutMillis: 5_000 });
      pool.on('error', () => undefined);
      pools.set(database, pool);
    }
    return pool;
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof HTTPError)
        return send(response, error.status, { message: error.message, code: error.code });
      if (error instanceof pg.DatabaseError) return send(response, 400, databaseError(error));
      send(response, 500, { message: String(error) });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname.startsWith('/__roundtrips/')) {
      const id = decodeURIComponent(url.pathname.slice('/__roundtrips/'.length));
      return send(response, 200, { request_id: id, round_trips: counts.get(id) ?? 0 });
    }
    if (request.method !== 'POST' || url.pathname !== '/sql') throw new HTTPError(404, 'not found');
    const requestId = header(request, 'x-request-id');
    if (requestId !== undefined) counts.set(requestId, (counts.get(requestId) ?? 0) + 1);

    const body = JSON.parse(await readBody(request)) as QueryInput | { queries: QueryInput[] };
    const pool = poolFor(header(request, 'neon-connection-string'));
    if ('queries' in body) {
      const client = await pool.connect();
      try {
        const level = ISOLATION[header(request, 'neon-batch-isolation-level') ?? ''] ?? '';
        const readOnly = header(request, 'neon-batch-read-only') === 'true';
        await client.query(
          `BEGIN${level ? ` ISOLATION LEVEL ${level}` : ''}${readOnly ? ' READ ONLY' : ''}`,
        );
        const results = [];
        try {
          for (const query of body.queries) results.push(await run(client, query));
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        return send(response, 200, { results });
      } finally {
        client.release();
      }
    }
    return send(response, 200, await run(pool, body));
  }

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    if (!(request.url ?? '').startsWith('/v1')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => bridge(ws, options.databases));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  options.log?.(`Neon HTTP and WebSocket endpoint on 127.0.0.1:${port}`);
  return {
    httpURL: `http://127.0.0.1:${port}/sql`,
    wsProxy: `127.0.0.1:${port}/v1`,
    port,
    roundTrips: (requestId) => counts.get(requestId) ?? 0,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
    },
  };
}

async function run(runner: pg.Pool | pg.PoolClient, input: QueryInput) {
  const result = await runner.query({
    text: input.query,
    values: input.params ?? [],
    rowMode: 'array',
    types: rawText,
  });
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map((field) => ({
      name: field.name,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeID: field.dataTypeID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: 'text',
    })),
    rowAsArray: true,
  };
}

/**
 * The WebSocket path: the first frame holds the startup message, whose `database` parameter picks
 * the target; after that, bytes pass through both ways untouched.
 */
function bridge(ws: WebSocket, databases: Map<string, PostgresTarget>): void {
  let socket: Socket | null = null;
  let pending: Buffer[] = [];
  ws.on('message', (data: Buffer) => {
    if (socket !== null) {
      if (pending.length > 0) pending.push(data);
      else socket.write(data);
      return;
    }
    pending.push(data);
    const buffered = Buffer.concat(pending);
    const database = startupDatabase(buffered);
    if (database === undefined) return; // wait for the rest of the startup message
    const target = databases.get(database) ?? [...databases.values()][0];
    if (target === undefined) return ws.close();
    // PGlite serves its one database whatever the startup message names.
    const startup =
      database === target.database ? buffered : rewriteDatabase(buffered, target.database);
    socket = connect(target.port, target.host, () => {
      socket?.write(Buffer.concat([startup, ...pending.slice(1)]));
      pending = [];
    });
    socket.on('data', (chunk) => ws.readyState === ws.OPEN && ws.send(chunk));
    socket.on('error', () => ws.close());
    socket.on('close', () => ws.close());
  });
  ws.on('close', () => socket?.destroy());
  ws.on('error', () => socket?.destroy());
}

function startupDatabase(buffer: Buffer): string | undefined {
  if (buffer.length < 8) return undefined;
  const length = buffer.readInt32BE(0);
  if (buffer.length < length) return undefined;
  const parts = buffer
    .subarray(8, length - 1)
    .toString('utf8')
    .split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === 'database') return parts[i + 1];
  return '';
}

function rewriteDatabase(buffer: Buffer, database: string): Buffer {
  const length = buffer.readInt32BE(0);
  const parts = buffer
    .subarray(8, length - 1)
    .toString('utf8')
    .split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2)
    if (parts[i] === 'database') parts[i + 1] = database;
  const body = Buffer.from(`${parts.join('\0')}\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  buffer.copy(head, 4, 4, 8);
  return Buffer.concat([head, body, buffer.subarray(length)]);
}

class HTTPError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function databaseError(error: pg.DatabaseError): Record<string, unknown> {
  const body: Record<string, unknown> = { message: error.message };
  for (const field of ERROR_FIELDS) if (error[field] !== undefined) body[field] = error[field];
  return body;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
