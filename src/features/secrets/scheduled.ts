import { createDatabase } from '../../db/client.ts';
import { loadConfig, rootKeysOf, type Env } from '../../env.ts';
import { createLogger } from '../../log.ts';
import { RETENTION_ROUND_TRIPS, SEAL_ROUND_TRIPS } from '../audit/scheduled.ts';
import { resealTick, type ResealResult } from './service.ts';

/**
 * Subrequests the rotation may spend per tick. It shares the every-minute invocation with the
 * audit jobs, and a Worker invocation may make 50 subrequests on the free and Bundled plans: what
 * they leave, less one to spare (7: the status probe, the audit key, then two batches of rows).
 */
export const RESEAL_ROUND_TRIPS = 50 - SEAL_ROUND_TRIPS - RETENTION_ROUND_TRIPS - 1;

/**
 * Runs on every cron tick while SECRET_KEY_PREVIOUS is set: reseals a bounded share of what the
 * previous key sealed (src/features/secrets/service.ts). Without it, costs no subrequest.
 */
export async function runSecretRotation(env: Env): Promise<ResealResult | null> {
  const result = loadConfig(env);
  if (!result.ok || result.config.secretKeyPrevious === null) return null;
  const config = result.config;
  const deps = { db: createDatabase(config), secretKeys: rootKeysOf(config) };
  const done = await resealTick(deps, { maxRoundTrips: RESEAL_ROUND_TRIPS });
  if (done.resealed > 0 || done.unopenable > 0) {
    // Counts only: never a key id, a value or a row's key.
    createLogger(config.logLevel).info('secret rotation', {
      resealed: done.resealed,
      unopenable: done.unopenable,
    });
  }
  return done;
}
