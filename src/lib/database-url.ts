// The production rule for DATABASE_URL, shared by the Worker's validation (src/env.ts) and the
// operator scripts (db:migrate, the CLI, check-config): a database reached over a network must be
// reached over TLS, and only sslmode says so in a libpq-style URL. Neon's URLs carry
// `sslmode=require`; without it a client may fall back to cleartext, credentials included.

/** The libpq modes that refuse a cleartext connection (disable, allow and prefer do not). */
export const TLS_SSLMODES = ['require', 'verify-ca', 'verify-full'] as const;

/**
 * Whether `host` (as URL.hostname gives it) is this machine: localhost, 127.0.0.0/8 or ::1.
 * An empty host is a Unix socket, local too.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === '' || name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * Why a production DATABASE_URL is refused, or null when it is acceptable: a non-loopback host
 * needs `sslmode=require` or stricter. The message never quotes the URL (it holds a password).
 */
export function databaseURLTLSProblem(databaseURL: string): string | null {
  let url: URL;
  try {
    url = new URL(databaseURL);
  } catch {
    return 'must be a valid postgres:// URL';
  }
  if (isLoopbackHost(url.hostname)) return null;
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode !== null && (TLS_SSLMODES as readonly string[]).includes(sslmode)) return null;
  return (
    'must require TLS in production: add sslmode=require (or verify-ca / verify-full) to a ' +
    'database that is not on loopback'
  );
}

/**
 * ENVIRONMENT's production rule, as src/env.ts applies it: unset means production. Anything but
 * `development` or `test` counts as production here, since a typo must not relax a check.
 */
export function isProductionEnvironment(environment: string | undefined): boolean {
  const value = environment?.trim() ?? '';
  return value !== 'development' && value !== 'test';
}
