import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { DependencyUnavailableError } from '../dependencies.ts';
import type { Config } from '../env.ts';
import { currentRequestScope } from '../request-scope.ts';
import * as schema from './schema.ts';

export type Database = NeonHttpDatabase<typeof schema>;

export type DatabaseConfig = Pick<Config, 'databaseURL' | 'dev'> &
  Partial<Pick<Config, 'database'>>;

/**
 * The deadlines every statement runs under. Module state because Neon's fetch function is a
 * global too; an isolate serves one configuration. Null (the CLIs): no deadline.
 */
let deadlines: Config['database'] | null = null;

/**
 * Neon's HTTP driver: one HTTP request per statement or batch, no connection to keep, which is the
 * cheapest way to reach Postgres from an isolate. Each call carries the request id, so logs on
 * both sides line up (and the local endpoint can count round trips per request), and runs under
 * the statement and request deadlines (`config.database`).
 */
export function createDatabase(config: DatabaseConfig): Database {
  if (config.dev.neonHTTPEndpoint !== null) neonConfig.fetchEndpoint = config.dev.neonHTTPEndpoint;
  if (config.database !== undefined) deadlines = config.database;
  neonConfig.fetchFunction = fetchStatement;
  // Building one walks the whole relational schema (drizzle's extractTablesRelationalConfig): the
  // largest per-request cost of a bearer check when done per request (npm run bench, profile).
  // The instance holds no request state (the request id and deadlines come from the request
  // scope), so one per database URL serves every request of the isolate.
  let db = instances.get(config.databaseURL);
  if (db === undefined) {
    db = drizzle({ client: neon(config.databaseURL), schema });
    instances.set(config.databaseURL, db);
  }
  return db;
}

/** The isolate's drizzle instances, by database URL: immutable once built, no request state. */
const instances = new Map<string, Database>();

/**
 * Milliseconds the next statement may take: its own deadline, cut by what is left of the request's
 * (the time its statements have waited so far is subtracted). Null: no deadline.
 */
export function statementBudget(): number | null {
  if (deadlines === null) return null;
  const waited = currentRequestScope()?.databaseWaitMs;
  if (waited === undefined) return deadlines.statementTimeoutMs;
  return Math.min(deadlines.statementTimeoutMs, deadlines.requestTimeoutMs - waited);
}

/**
 * One statement's HTTP call. Failures of the database itself (no answer in time, no connection,
 * an HTTP 5xx from the endpoint) become DependencyUnavailableError, which Neon keeps as the
 * `sourceError` of the error it throws; SQL errors (HTTP 400) pass through untouched, so a unique
 * violation keeps its meaning (src/dependencies.ts sorts out the SQLSTATEs that mean "down").
 */
async function fetchStatement(input: string, init: RequestInit): Promise<Response> {
  const scope = currentRequestScope();
  const headers = new Headers(init.headers);
  if (scope !== undefined) headers.set('X-Request-Id', scope.requestId);
  const budget = statementBudget();
  if (budget !== null && budget <= 0) {
    throw new DependencyUnavailableError('database', 'the request deadline has passed');
  }
  const signals = [init.signal, budget === null ? null : AbortSignal.timeout(budget)].filter(
    (signal): signal is AbortSignal => signal != null,
  );
  let response: Response;
  const started = Date.now();
  try {
    response = await fetch(input, {
      ...init,
      headers,
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw new DependencyUnavailableError(
      'database',
      timedOut ? `no answer within ${budget} ms` : 'the connection failed',
      { cause: error },
    );
  } finally {
    if (scope?.databaseWaitMs !== undefined) scope.databaseWaitMs += Date.now() - started;
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new DependencyUnavailableError('database', `HTTP ${response.status} from the endpoint`);
  }
  return response;
}
