import { createDatabase } from '../../db/client.ts';
import { loadConfig, type Env } from '../../env.ts';
import { createLogger } from '../../log.ts';
import { enforceRetention, sealAllChains } from './service.ts';

/**
 * Runs on every cron tick: seals waiting events into their chains (so the window in which an
 * event is not yet tamper-evident is one tick), then deletes events past retention in bounded
 * batches.
 */
export async function runAuditMaintenance(
  env: Env,
  now: Date,
): Promise<{ sealed: number; pruned: number }> {
  const result = loadConfig(env);
  if (!result.ok) return { sealed: 0, pruned: 0 };
  const config = result.config;
  const deps = { db: createDatabase(config), secretKey: config.secretKey };
  const sealed = await sealAllChains(deps);
  const pruned = await enforceRetention(deps, now);
  if (sealed > 0 || pruned > 0) {
    createLogger(config.logLevel).info('audit maintenance', { sealed, pruned });
  }
  return { sealed, pruned };
}
