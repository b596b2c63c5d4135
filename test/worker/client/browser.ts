// A browser stand-in for the SDK inside workerd: its fetch goes to the real Worker through the
// harness (so round trips are counted), names the page's Origin as a browser does, and keeps the
// cookies a browser would (or none: token mode with third-party cookies blocked).
import { createClient, type ClientOptions } from '../../../packages/client/src/index.ts';
import { CookieJar } from '../fixtures.ts';
import { send, type Sent, type SendOptions } from '../harness.ts';

export const APP_ORIGIN = 'https://app.example.com';
export const BASE_URL = 'https://gatehouse.test';

export interface Browser {
  client: ReturnType<typeof createClient>;
  jar: CookieJar;
  /** Every request the client made, in order, with its path. */
  sent: { method: string; path: string; sent: Sent }[];
  /** The path's requests' round trips, summed. */
  roundTripsOf(method: string, path: string): Promise<number[]>;
}

export function browser(
  tenantSlug: string,
  options: {
    origin?: string;
    mode?: ClientOptions['mode'];
    cookies?: boolean;
    send?: SendOptions;
    renewBeforeSeconds?: number;
  } = {},
): Browser {
  const jar = new CookieJar();
  const sent: Browser['sent'] = [];
  const storage = new Map<string, string>();
  const client = createClient({
    baseURL: BASE_URL,
    tenant: tenantSlug,
    mode: options.mode ?? 'cookie',
    ...(options.renewBeforeSeconds === undefined
      ? {}
      : { renewBeforeSeconds: options.renewBeforeSeconds }),
    storage: {
      getItem: (key) => storage.get(key) ?? null,
      setItem: (key, value) => void storage.set(key, value),
      removeItem: (key) => void storage.delete(key),
    },
    async fetch(input, init) {
      if (init.credentials !== 'include') throw new Error('the SDK must send credentials');
      const headers = new Headers(init.headers);
      headers.set('Origin', options.origin ?? APP_ORIGIN);
      if (options.cookies !== false)
        for (const [name, value] of Object.entries(jar.header())) headers.set(name, value);
      const url = new URL(input);
      const result = await send(url.pathname + url.search, { ...init, headers }, options.send);
      if (options.cookies !== false) jar.store(result.response);
      sent.push({ method: init.method ?? 'GET', path: url.pathname, sent: result });
      return result.response;
    },
  });
  return {
    client,
    jar,
    sent,
    roundTripsOf: (method, path) =>
      Promise.all(
        sent
          .filter((s) => s.method === method && s.path.endsWith(path))
          .map((s) => s.sent.roundTrips()),
      ),
  };
}
