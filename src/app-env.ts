import type { Deps } from './deps.ts';
import type { Env } from './env.ts';
import type { TenantScope } from './features/tenants/context.ts';

/** Hono's type parameters for every router in this service. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    deps: Deps;
    requestId: string;
    tenantSlug: string | undefined;
    tenantScope: TenantScope;
  };
}
