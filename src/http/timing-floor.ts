import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app-env.ts';
import { tenantSettingsSchema } from '../features/tenants/settings.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Date.now() when the app first saw the request; set by the first middleware. */
    requestStartedAt: number;
  }
}

export const DEFAULT_RESPONSE_FLOOR_MS = tenantSettingsSchema.parse({}).credentialResponseFloorMs;

/**
 * For credential endpoints (login, register, password-reset request, recovery codes): the
 * answer, success or failure, leaves no sooner than the tenant's floor after the request arrived,
 * so its timing does not tell an existing account from an unknown or locked one. The floor is the
 * tenant's `credentialResponseFloorMs` once a query has loaded the tenant, else the default.
 *
 * Workers' clock only moves on I/O, so time spent hashing is not seen here and the floor is
 * slept on top of it: answers come later than the floor, never sooner.
 */
export const credentialTimingFloor = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const floor =
    c.var.tenantScope?.tenant?.settings.credentialResponseFloorMs ?? DEFAULT_RESPONSE_FLOOR_MS;
  const started = c.var.requestStartedAt ?? Date.now();
  const remaining = started + floor - Date.now();
  if (remaining > 0) await sleep(remaining);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
