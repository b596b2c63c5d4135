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
    countSubrequest(input instanceof Request ? input.url : String(input));
    return realFetch(input, init);
  };
  // A WebSocket (Neon's interactive transactions) is one subrequest when it opens.
  const RealWebSocket = globalThis.WebSocket;
  globalThis.WebSocket = class CountedWebSocket extends RealWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      countSubrequest(String(url));
      super(url, protocols);
    }
  } as typeof WebSocket;
}

/**
 * `connect()` from cloudflare:sockets (SMTP) counts like a fetch. Installed with `vi.mock` in
 * setup.ts (a module export cannot be replaced in place); worker-mailer imports it from there.
 */
export function countedConnect<C extends (...args: never[]) => unknown>(connect: C): C {
  return ((...args: Parameters<C>) => {
    const address = args[0] as unknown;
    const target =
      typeof address === 'string'
        ? address
        : `${(address as { hostname: string }).hostname}:${(address as { port: number }).port}`;
    countSubrequest(`tcp:${target}`);
    return connect(...args);
  }) as C;
}

/** Charges one subrequest to the current request or invocation, if any; past the limit, throws. */
export function countSubrequest(target: string): void {
  const budget = requestBudget.getStore();
  if (budget === undefined) return;
  budget.subrequests += 1;
  budget.calls.push(target);
  if (budget.subrequests > MAX_SUBREQUESTS) throw new Error('Too many subrequests.');
}

const MULTIPART_CALLS = new Set(['uploadPart', 'complete', 'abort']);

/**
 * An R2 binding whose every operation counts as a subrequest, as on Cloudflare: get, put, head,
 * list, delete, and each call on a multipart upload (its parts, complete, abort).
 */
export function countedBucket(bucket: R2Bucket): R2Bucket {
  const countCalls = <T extends object>(target: T, counted: (name: string) => boolean): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string' || !counted(property))
          return value;
        const call = (...args: unknown[]): unknown =>
          (value as (...a: unknown[]) => unknown).apply(object, args);
        const multipart = (upload: R2MultipartUpload) =>
          countCalls(upload, (name) => MULTIPART_CALLS.has(name));
        // Resuming names an upload without a request; its calls are counted.
        if (property === 'resumeMultipartUpload')
          return (...args: unknown[]) => multipart(call(...args) as R2MultipartUpload);
        return (...args: unknown[]) => {
          countSubrequest(`r2:${property}`);
          const result = call(...args);
          return property === 'createMultipartUpload'
            ? (result as Promise<R2MultipartUpload>).then(multipart)
            : result;
        };
      },
    });
  return countCalls(bucket, () => true);
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
