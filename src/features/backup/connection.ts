// One Postgres connection over Neon's WebSocket protocol, for the two jobs that need a
// transaction held open across many statements: reading a consistent snapshot for an export, and
// an import that commits only after the archive's last segment verified. Everything else in the
// service uses the HTTP driver. The connection is opened and closed within the request or command.
import { Client, neonConfig } from '@neondatabase/serverless';
import type { Config } from '../../env.ts';

export interface Connection {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openConnection(
  config: Pick<Config, 'databaseURL' | 'dev'>,
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
  await client.connect();
  let isClosed = false;
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await client.query(text, params);
      return result.rows as T[];
    },
    async close() {
      if (isClosed) return;
      isClosed = true;
      await client.end().catch(() => undefined);
    },
  };
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
