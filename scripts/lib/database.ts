// Opens the Worker's own database layer (drizzle over Neon's HTTP protocol) from Node, so the CLI
// runs the same repositories and services as the Worker. A Neon URL is used directly; any other
// Postgres URL is reached through an in-process Neon endpoint (dev tooling) in front of it.
import { createDatabase, type Database } from '../../src/db/client.ts';
import { startNeonEndpoint } from '../stack/neon-endpoint.ts';

export interface OpenDatabase {
  db: Database;
  close(): Promise<void>;
}

export async function openDatabase(databaseURL: string): Promise<OpenDatabase> {
  const url = new URL(databaseURL);
  if (url.hostname.endsWith('.neon.tech')) {
    return {
      db: createDatabase({ databaseURL, dev: { neonHTTPEndpoint: null, neonWSProxy: null } }),
      close: async () => undefined,
    };
  }
  const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const endpoint = await startNeonEndpoint({
    databases: new Map([
      [
        database,
        {
          host: url.hostname,
          port: Number(url.port || 5432),
          user: decodeURIComponent(url.username || 'postgres'),
          ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
          database,
        },
      ],
    ]),
  });
  return {
    db: createDatabase({
      databaseURL,
      dev: { neonHTTPEndpoint: endpoint.httpURL, neonWSProxy: null },
    }),
    close: () => endpoint.close(),
  };
}
