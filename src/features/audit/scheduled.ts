import { createDatabase } from '../../db/client.ts';
import { loadConfig, type Env } from '../../env.ts';
import { createLogger } from '../../log.ts';
import { enforceRetention, sealAllChains } from './service.ts';

/**
 * Subrequests one tick may spend on each job. A Worker invocation may make 50 on the free and
 * Bundled plans; together these leave room to spare (the harness fails a test past 50).
 */
export const SEAL_ROUND_TRIPS = 31;
export const RETENTION_ROUND_TRIPS = 11;

/**
 * Runs on every cron tick: seals waiting events into their chains (so the window in which an
 * event is not yet tamper-evident is one tick while the backlog fits one tick's budget: 15
 * batches of 200 events), then deletes events past retention in bounded batches.
 */
export async function runAuditMaintenance(
  env: Env,
  now: Date,
): Promise<{ sealed: number; pruned: number }> {
  const result = loadConfig(env);
  if (!result.ok) return { sealed: 0, pruned: 0 };
  const config = result.config;
  const deps = { db: createDatabase(config), secretKey: config.secretKey };
  const sealed = await sealAllChains(deps, { maxRoundTrips: SEAL_ROUND_TRIPS });
  const pruned = await enforceRetention(deps, now, { maxBatches: RETENTION_ROUND_TRIPS - 1 });
  if (sealed > 0 || pruned > 0) {
    createLogger(config.logLevel).info('audit maintenance', { sealed, pruned });
  }
  return { sealed, pruned };
}
