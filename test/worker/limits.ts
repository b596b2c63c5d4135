// Production limits that local workerd does not enforce, enforced here for every worker test.
// Sources: cloudflare/workerd#1346 (PBKDF2 iteration cap, its error text), and Workers' documented
// limit of 50 subrequests per request on the free plan (the strictest a deployment may run on).
import { AsyncLocalStorage } from 'node:async_hooks';

export const PBKDF2_MAX_ITERATIONS = 100_000;
export const MAX_SUBREQUESTS = 50;

export interface RequestBudget {
  subrequests: number;
  /** URLs of outbound fetches, for assertions about what was called. */
  calls: string[];
  /** Console lines written while the request was handled. */
  logs: string[];
}

export const requestBudget = new AsyncLocalStorage<RequestBudget>();

function pbkdf2Iterations(algorithm: unknown): number | undefined {
  if (typeof algorithm !== 'object' || algorithm === null) return undefined;
  const { name, iterations } = algorithm as { name?: unknown; iterations?: unknown };
  return typeof name === 'string' &&
    name.toUpperCase() === 'PBKDF2' &&
    typeof iterations === 'number'
    ? iterations
    : undefined;
}

function refuseHighIterations(algorithm: unknown): void {
  const iterations = pbkdf2Iterations(algorithm);
  if (iterations !== undefined && iterations > PBKDF2_MAX_ITERATIONS) {
    throw new DOMException(
      `Pbkdf2 failed: iteration counts above 100000 are not supported (requested ${iterations}).`,
      'NotSupportedError',
    );
  }
}

export function installProductionLimits(): void {
  const subtle = crypto.subtle;
  const deriveBits = subtle.deriveBits.bind(subtle);
  const deriveKey = subtle.deriveKey.bind(subtle);
  subtle.deriveBits = async (algorithm, baseKey, length) => {
    refuseHighIterations(algorithm);
    return deriveBits(algorithm, baseKey, length);
  };
  subtle.deriveKey = async (algorithm, baseKey, derivedKeyType, extractable, keyUsages) => {
    refuseHighIterations(algorithm);
    return deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages);
  };

  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const budget = requestBudget.getStore();
    if (budget !== undefined) {
      budget.subrequests += 1;
      budget.calls.push(input instanceof Request ? input.url : String(input));
      if (budget.subrequests > MAX_SUBREQUESTS) {
        throw new Error('Too many subrequests.');
      }
    }
    return realFetch(input, init);
  };
}

/** Routes console lines written inside a request's async context to that request's record. */
export function installConsoleCapture(): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const budget = requestBudget.getStore();
      if (budget === undefined) return original(...args);
      budget.logs.push(
        args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '),
      );
    };
  }
}
