// The fault suite's own stack, apart from the shared one in test/global-setup.ts: a real
// PostgreSQL and a real redis-server that the suite pauses and kills, the Neon and Upstash
// endpoints in front of them, and the control endpoint (stack.ts). Both servers are required:
// under CI=true a missing one fails the run; elsewhere the suite skips, loudly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../../scripts/stack/migrate.ts';
import { startNeonEndpoint } from '../../scripts/stack/neon-endpoint.ts';
import { findPostgresBinaries, startPostgres } from '../../scripts/stack/postgres.ts';
import { findRedisServer } from '../../scripts/stack/redis.ts';
import { startUpstashEndpoint } from '../../scripts/stack/upstash-endpoint.ts';
import { startFaultControl } from './stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    faultControlURL: string;
    /** Why the suite cannot run here (empty: it can). */
    faultSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const missing = [
    findPostgresBinaries() === null ? 'PostgreSQL' : null,
    findRedisServer() === null ? 'redis-server' : null,
  ].filter((name) => name !== null);
  if (missing.length > 0) {
    const reason = `the fault suite needs ${missing.join(' and ')}, not installed`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: failing, not skipping)`);
    console.warn(`\n*** SKIPPING THE FAULT SUITE: ${reason} ***\n`);
    for (const key of ['databaseURL', 'neonHTTPEndpoint', 'neonWSProxy', 'neonControlURL'])
      project.provide(key as 'databaseURL', '');
    project.provide('upstashURL', 'http://127.0.0.1:9');
    project.provide('upstashToken', '');
    project.provide('faultControlURL', '');
    project.provide('faultSkipReason', reason);
    return async () => undefined;
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-faults-pg-'));
  const postgres = await startPostgres({ dataDir, durable: true });
  const target = await postgres.createDatabase('gatehouse_faults');
  await applyMigrations(target);
  const neon = await startNeonEndpoint({ databases: new Map([['gatehouse_faults', target]]) });
  const upstash = await startUpstashEndpoint({ backend: 'redis' });
  const control = await startFaultControl({ postgres, dataDir, redis: upstash.redisServer! });

  project.provide('databaseURL', 'postgres://gatehouse@db.gatehouse.test/gatehouse_faults');
  project.provide('neonHTTPEndpoint', neon.httpURL);
  project.provide('neonWSProxy', neon.wsProxy);
  project.provide('neonControlURL', `http://127.0.0.1:${neon.port}`);
  project.provide('upstashURL', upstash.url);
  project.provide('upstashToken', upstash.token);
  project.provide('faultControlURL', control.url);
  project.provide('faultSkipReason', '');

  return async () => {
    await control.close();
    // Redis was killed by the suite: its endpoint's connection is gone, so do not wait on it.
    await Promise.race([
      upstash.close().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 2_000)),
    ]);
    await neon.close();
  };
}
