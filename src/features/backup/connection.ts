// One Postgres connection over Neon's WebSocket protocol, for the two jobs that need a
// transaction held open across many statements: reading a consistent snapshot for an export, and
// an import that commits only after the archive's last segment verified. Everything else in the
// service uses the HTTP driver. The connection is opened and closed within the request or command.
import { Client, neonConfig } from '@neondatabase/serverless';
import { DependencyUnavailableError } from '../../dependencies.ts';
import type { Config } from '../../env.ts';

export interface Connection {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * Opens the connection; connecting and each statement run under the statement deadline
 * (`config.database`), and a timeout or a lost connection becomes DependencyUnavailableError
 * (503 database_unavailable). SQL errors keep their SQLSTATE. The per-request deadline does not
 * apply here: an import or a streamed export legitimately outlasts it, statement by statement.
 */
export async function openConnection(
  config: Pick<Config, 'databaseURL' | 'dev'> & Partial<Pick<Config, 'database'>>,
): Promise<Connection> {
  const proxy = config.dev.neonWSProxy;
  if (proxy !== null) {
    // The local endpoint bridges plain ws:// to Postgres; pipelining needs cleartext passwords.
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
  }
  const client = new Client({ connectionString: config.databaseURL });
  // A dropped socket surfaces as the failing query's error; this keeps it from being unhandled.
  client.on('error', () => undefined);
  const timeoutMs = config.database?.statementTimeoutMs ?? null;
  const bounded = <T>(work: Promise<T>): Promise<T> =>
    withinStatementDeadline(work, timeoutMs, () => {
      // A hung server would hold end() too: drop the socket without waiting.
      void client.end().catch(() => undefined);
    });
  await bounded(client.connect());
  let isClosed = false;
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await bounded(client.query(text, params));
      return result.rows as T[];
    },
    async close() {
      if (isClosed) return;
      isClosed = true;
      await client.end().catch(() => undefined);
    },
  };
}

async function withinStatementDeadline<T>(
  work: Promise<T>,
  timeoutMs: number | null,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (timeoutMs === null) return;
    timer = setTimeout(() => {
      onTimeout();
      reject(new DependencyUnavailableError('database', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    if (error instanceof DependencyUnavailableError) throw error;
    // A SQL error carries its SQLSTATE; anything else is the connection failing under us.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) throw error;
    throw new DependencyUnavailableError('database', 'the connection failed', { cause: error });
  } finally {
    clearTimeout(timer);
    void work.catch(() => undefined);
  }
}

/** The number of migrations applied (the schema version), as db/schema-version.ts counts it. */
export async function readSchemaVersion(connection: Connection): Promise<number> {
  const rows = await connection.query<{ version: number }>(
    'select count(*)::int as version from drizzle.__drizzle_migrations',
  );
  return Number(rows[0]?.version ?? 0);
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
