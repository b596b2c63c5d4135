// SMTP endpoints, as SMTP_URL and tenant settings name them. No I/O.

/**
 * `implicit`: TLS from the first byte (port 465, `smtps://`). `starttls`: plain greeting, then
 * STARTTLS is required before anything else (port 587, `smtp://`). `none`: plaintext, only to a
 * loopback host (the local dev and test servers): a password or a reset link must never cross a
 * network in the clear, and workerd verifies certificates, so loopback servers speak plain SMTP.
 */
export type SMTPSecurity = 'implicit' | 'starttls' | 'none';

export interface SMTPEndpoint {
  host: string;
  port: number;
  security: SMTPSecurity;
  username: string | null;
  password: string | null;
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

export type SMTPURLResult = { ok: true; endpoint: SMTPEndpoint } | { ok: false; message: string };

/**
 * `smtps://user:pass@host[:465]`, `smtp://user:pass@host[:587]` (STARTTLS required), or
 * `smtp://host:port?tls=none` (loopback only). User and password are percent-decoded.
 * Messages never repeat the URL (it carries the password).
 */
export function parseSMTPURL(value: string): SMTPURLResult {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, message: 'must be an smtp:// or smtps:// URL' };
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    return { ok: false, message: 'must be an smtp:// or smtps:// URL' };
  const tls = url.searchParams.get('tls');
  if (tls !== null && !(url.protocol === 'smtp:' && tls === 'none'))
    return { ok: false, message: 'the only query setting is tls=none, on smtp://' };
  const security: SMTPSecurity =
    url.protocol === 'smtps:' ? 'implicit' : tls === 'none' ? 'none' : 'starttls';
  const host = url.hostname;
  if (host === '') return { ok: false, message: 'must name a host' };
  if (security === 'none' && !isLoopbackHost(host))
    return { ok: false, message: 'tls=none (plaintext) is only allowed to a loopback host' };
  const port = url.port === '' ? (security === 'implicit' ? 465 : 587) : Number(url.port);
  if (port === 25) return { ok: false, message: 'port 25 is blocked on Workers; use 465 or 587' };
  let username: string | null = null;
  let password: string | null = null;
  try {
    username = url.username === '' ? null : decodeURIComponent(url.username);
    password = url.password === '' ? null : decodeURIComponent(url.password);
  } catch {
    return { ok: false, message: 'user and password must be percent-encoded' };
  }
  return {
    ok: true,
    endpoint: { host: host.replace(/^\[|\]$/g, ''), port, security, username, password },
  };
}
