import type { TokenResponse } from './types.ts';

// Structural types for the browser features used here, so the client also compiles (and runs)
// where the DOM library is absent: workerd in the tests, server-side rendering.
interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}
interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}
/** Where token mode keeps the refresh token: `localStorage` by default, so tabs share it. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface Shared {
  t?: string; // access token
  e?: number; // its expiry, epoch ms
}

export interface TokenManager {
  /** A cached access token, renewed shortly before expiry by one refresh at a time. */
  get(): Promise<string>;
  /** Takes tokens a sign-in returned (token mode) or a refresh produced. */
  accept(tokens: TokenResponse): void;
  clear(): void;
}

export function createTokenManager(options: {
  name: string;
  renewBeforeMs: number;
  storage: TokenStorage | null;
  refresh(refreshToken: string | null): Promise<TokenResponse>;
}): TokenManager {
  const g = globalThis as {
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => ChannelLike;
  };
  const { name, storage } = options;
  const refreshKey = `${name}:refresh`;
  let current: Shared = {};
  let inflight: Promise<string> | undefined;
  const channel = g.BroadcastChannel === undefined ? null : new g.BroadcastChannel(name);
  // Another tab renewed (or signed out): take its token instead of refreshing again.
  if (channel !== null) channel.onmessage = (event) => (current = event.data as Shared);

  const fresh = (): boolean =>
    current.t !== undefined && (current.e ?? 0) - options.renewBeforeMs > Date.now();

  function publish(next: Shared): void {
    current = next;
    channel?.postMessage(next);
  }

  function accept(tokens: TokenResponse): void {
    storage?.setItem(refreshKey, tokens.refresh_token);
    publish({ t: tokens.access_token, e: Date.now() + tokens.expires_in * 1000 });
  }

  async function renew(): Promise<string> {
    // Inside the lock another tab may just have renewed: its message then arrived first.
    if (!fresh()) accept(await options.refresh(storage?.getItem(refreshKey) ?? null));
    return current.t!;
  }

  return {
    accept,
    clear() {
      storage?.removeItem(refreshKey);
      publish({});
    },
    get() {
      if (fresh()) return Promise.resolve(current.t!);
      inflight ??= (g.navigator?.locks?.request(name, renew) ?? renew()).finally(
        () => (inflight = undefined),
      );
      return inflight;
    },
  };
}
