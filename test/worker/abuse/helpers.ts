// Shared by the abuse-protection tests: counting wrappers for the password hasher, distinct
// client addresses, and a wait that keeps a burst inside one rate-limit window.
import type { Clock, Deps } from '../../../src/deps.ts';
import type { PasswordHasher } from '../../../src/features/accounts/password.ts';
import type { TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions, type Sent } from '../harness.ts';

export const PASSWORD = 'correct horse battery';
export const WRONG_PASSWORD = 'wrong horse battery';

export interface HashCounts {
  hash: number;
  verify: number;
}

/** Wraps the request's real hasher, counting calls: the proof that hashing was (not) done. */
export function countingPasswords(counts: HashCounts): (deps: Deps) => Partial<Deps> {
  return (deps) => {
    const real: PasswordHasher = deps.passwords;
    return {
      passwords: {
        hash: (password, salt) => {
          counts.hash += 1;
          return real.hash(password, salt);
        },
        verify: (stored, password) => {
          counts.verify += 1;
          return real.verify(stored, password);
        },
      },
    };
  };
}

let octet = 0;

/** A documentation-range address no other test uses (RFC 5737 TEST-NET-3 plus a random part). */
export function uniqueIP(): string {
  octet = (octet + 1) % 250;
  return `203.0.${Math.floor(Math.random() * 250)}.${octet + 1}`;
}

/**
 * Sliding windows weigh the previous window's count by how much of it still overlaps; a burst
 * that straddles a boundary can pass one more request than the limit. Start clear of the edge.
 */
export async function awayFromWindowEdge(windowSeconds: number, marginMs = 5000): Promise<void> {
  const windowMs = windowSeconds * 1000;
  const into = Date.now() % windowMs;
  if (into > windowMs - marginMs)
    await new Promise((resolve) => setTimeout(resolve, windowMs - into + 100));
}

export function fixedClock(time: Date): Clock {
  return { now: () => time };
}

export function login(
  tenant: TestTenant,
  email: string,
  password: string,
  headers: Record<string, string> = {},
  options: SendOptions = {},
): Promise<Sent> {
  return send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email, password }, headers),
    options,
  );
}

export function register(
  tenant: TestTenant,
  email: string,
  headers: Record<string, string> = {},
  options: SendOptions = {},
): Promise<Sent> {
  return send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }, headers),
    options,
  );
}
