// Runs in Node before workerd starts: a real Postgres protocol server (PostgreSQL when installed,
// else PGlite), the Neon endpoints in front of it, migrations, and the Upstash REST endpoint
// (redis-server when installed, else the emulation); ports reach the Worker by inject.
import type { TestProject } from 'vitest/node';
import { startNeonEndpoint } from '../scripts/stack/neon-endpoint.ts';
import { applyMigrations } from '../scripts/stack/migrate.ts';
import { startPostgres, type PostgresTarget } from '../scripts/stack/postgres.ts';
import { startSMTPServer } from '../scripts/stack/smtp-server.ts';
import { startUpstashEndpoint } from '../scripts/stack/upstash-endpoint.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseURL: string;
    scratchDatabaseURL: string;
    bootstrapDatabaseURL: string;
    rotationDatabaseURL: string;
    neonHTTPEndpoint: string;
    neonWSProxy: string;
    neonControlURL: string;
    postgresKind: string;
    upstashURL: string;
    upstashToken: string;
    upstashBackend: string;
    smtpURL: string;
    smtpControlURL: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres({ preferPGlite: process.env.GATEHOUSE_TEST_PGLITE === '1' });
  const main = await server.createDatabase('gatehouse_test');
  // A second database that tests may break (schema mismatch) without touching the shared one.
  const scratch = await server.createDatabase('gatehouse_scratch');
  await applyMigrations(main);
  // Migrated, but with no operator: the admin bootstrap tests own its global "no owner yet" state.
  const bootstrap = await server.createDatabase('gatehouse_bootstrap');
  await applyMigrations(bootstrap);
  // Migrated: the SECRET_KEY rotation test reseals every row of its database, so it has its own.
  const rotation = await server.createDatabase('gatehouse_rotation');
  await applyMigrations(rotation);
  const databases = new Map<string, PostgresTarget>([
    ['gatehouse_test', main],
    ['gatehouse_scratch', scratch],
    ['gatehouse_bootstrap', bootstrap],
    ['gatehouse_rotation', rotation],
  ]);
  const neon = await startNeonEndpoint({ databases });
  // GATEHOUSE_TEST_REDIS=emulated forces the emulation where redis-server is installed.
  const upstash = await startUpstashEndpoint({
    backend: process.env.GATEHOUSE_TEST_REDIS === 'emulated' ? 'emulated' : 'auto',
  });

  project.provide('databaseURL', 'postgres://gatehouse@db.gatehouse.test/gatehouse_test');
  project.provide('scratchDatabaseURL', 'postgres://gatehouse@db.gatehouse.test/gatehouse_scratch');
  project.provide(
    'bootstrapDatabaseURL',
    'postgres://gatehouse@db.gatehouse.test/gatehouse_bootstrap',
  );
  project.provide(
    'rotationDatabaseURL',
    'postgres://gatehouse@db.gatehouse.test/gatehouse_rotation',
  );
  // A real SMTP server on loopback (test/worker/mail/inbox.ts drives it); AUTH offered, any
  // login accepted until a test requires one. The default route logs in as `gatehouse`.
  const smtp = await startSMTPServer({ auth: true, control: true });
  project.provide(
    'smtpURL',
    `smtp://gatehouse:default-smtp-password@${smtp.host}:${smtp.port}?tls=none`,
  );
  project.provide('smtpControlURL', smtp.controlURL ?? '');
  project.provide('neonHTTPEndpoint', neon.httpURL);
  project.provide('neonWSProxy', neon.wsProxy);
  project.provide('neonControlURL', `http://127.0.0.1:${neon.port}`);
  project.provide('postgresKind', server.kind);
  project.provide('upstashURL', upstash.url);
  project.provide('upstashToken', upstash.token);
  project.provide('upstashBackend', upstash.backend);
  process.env.GATEHOUSE_TEST_SCRATCH = JSON.stringify(scratch);

  return async () => {
    await smtp.close();
    await upstash.close();
    await neon.close();
    await server.stop();
  };
}
