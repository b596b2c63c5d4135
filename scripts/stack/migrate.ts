// Applies drizzle/ migrations with drizzle's own migrator. The only code path that changes the
// schema: the Worker never migrates at request time.
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url).href);

export async function applyMigrations(connection: string | pg.ClientConfig): Promise<number> {
  const client = new pg.Client(
    typeof connection === 'string' ? { connectionString: connection } : connection,
  );
  await client.connect();
  try {
    // Migrations print NOTICEs for "if not exists"; they are not news.
    client.on('notice', () => undefined);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    const result = await client.query<{ version: number }>(
      'select count(*)::int as version from drizzle.__drizzle_migrations',
    );
    return result.rows[0]?.version ?? 0;
  } finally {
    await client.end();
  }
}
