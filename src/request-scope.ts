import { AsyncLocalStorage } from 'node:async_hooks';

/** What outbound calls made on behalf of a request may know about it. */
export interface RequestScope {
  requestId: string;
  /** The path as the client sent it, before BASE_PATH is stripped. */
  path?: string;
  /** The tenant named by a /t/{slug} prefix, which is removed before routing. */
  tenantSlug?: string | undefined;
  /**
   * Milliseconds this request has spent waiting on the database so far: the per-request deadline
   * caps this sum (not wall time, which a CPU-bound password hash would use up).
   */
  databaseWaitMs?: number;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}
