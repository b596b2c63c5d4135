import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import {
  EXPECTED_SCHEMA_VERSION,
  assertSchemaCompatible,
  readSchemaState,
  type SchemaState,
} from '../../db/schema-version.ts';
import { AppError } from '../../errors.ts';

export const healthRoutes = new Hono<AppEnv>();

/** Liveness: the isolate runs and its configuration is valid. No I/O. */
healthRoutes.get('/health', (c) => c.json({ status: 'ok' }));

/**
 * Readiness: one database round trip that also proves this build may serve the schema (its own
 * version, or ahead of it by additive migrations only).
 */
healthRoutes.get('/health/ready', async (c) => {
  let state: SchemaState;
  try {
    state = await readSchemaState(c.var.deps.db);
  } catch (error) {
    throw new AppError('not_ready', 'the database cannot be reached', { cause: error });
  }
  assertSchemaCompatible(state);
  return c.json({
    status: 'ready',
    schema_version: state.version,
    expected_version: EXPECTED_SCHEMA_VERSION,
  });
});
