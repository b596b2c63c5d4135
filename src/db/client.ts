import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import type { Config } from '../env.ts';
import { currentRequestScope } from '../request-scope.ts';
import * as schema from './schema.ts';

export type Database = NeonHttpDatabase<typeof schema>;

/**
 * Neon's HTTP driver: one HTTP request per statement or batch, no connection to keep, which is the
 * cheapest way to reach Postgres from an isolate. Each call carries the request id, so logs on
 * both sides line up (and the local endpoint can count round trips per request).
 */
export function createDatabase(config: Pick<Config, 'databaseURL' | 'dev'>): Database {
  if (config.dev.neonHTTPEndpoint !== null) neonConfig.fetchEndpoint = config.dev.neonHTTPEndpoint;
  neonConfig.fetchFunction = fetchWithRequestId;
  return drizzle({ client: neon(config.databaseURL), schema });
}

function fetchWithRequestId(input: string, init: RequestInit): Promise<Response> {
  const scope = currentRequestScope();
  if (scope === undefined) return fetch(input, init);
  const headers = new Headers(init.headers);
  headers.set('X-Request-Id', scope.requestId);
  return fetch(input, { ...init, headers });
}
