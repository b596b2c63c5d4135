import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import {
  EXPECTED_SCHEMA_VERSION,
  assertSchemaVersion,
  readSchemaVersion,
} from '../../db/schema-version.ts';
import { AppError } from '../../errors.ts';

export const healthRoutes = new Hono<AppEnv>();

/** Liveness: the isolate runs and its configuration is valid. No I/O. */
healthRoutes.get('/health', (c) => c.json({ status: 'ok' }));

/** Readiness: one database round trip that also proves the schema is the one this build expects. */
healthRoutes.get('/health/ready', async (c) => {
  let version: number;
  try {
    version = await readSchemaVersion(c.var.deps.db);
  } catch (error) {
    throw new AppError('not_ready', 'the database cannot be reached', { cause: error });
  }
  assertSchemaVersion(version);
  return c.json({
    status: 'ready',
    schema_version: version,
    expected_version: EXPECTED_SCHEMA_VERSION,
  });
});
