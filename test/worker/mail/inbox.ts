// The test SMTP server (scripts/stack/smtp-server.ts, started by test/global-setup.ts on
// loopback), seen from inside workerd through its HTTP control endpoint. The Worker reaches the
// server itself through SMTP_URL (plain SMTP, AUTH offered, any login accepted by default).
import { testEnv } from '../harness.ts';

export interface ReceivedMail {
  /** Envelope recipients, lower-cased. */
  to: string[];
  envelopeFrom: string;
  /** The From header. */
  from: string;
  /** The login the client authenticated with, or null. */
  user: string | null;
  subject: string;
  text: string;
  html: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The message as received. */
  raw: string;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${testEnv.TEST_SMTP_CONTROL_URL}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!res.ok) throw new Error(`SMTP control ${method} ${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** Mail received for `to` so far (all mail without `to`), oldest first. */
export function inbox(to?: string): Promise<ReceivedMail[]> {
  return control('GET', to === undefined ? '/inbox' : `/inbox?to=${encodeURIComponent(to)}`);
}

/** The first message for `to` (waits up to `timeoutMs`, default 10 s; throws after). */
export async function waitForMail(options: {
  to: string;
  timeoutMs?: number;
}): Promise<ReceivedMail> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const [mail] = await inbox(options.to);
    if (mail !== undefined) return mail;
    if (Date.now() > deadline) throw new Error(`no mail for ${options.to}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Another listener of the same server (same inbox and rules) on its own port, for a test that
 * takes a server down: the main one stays up for every other test running meanwhile.
 */
export async function addSMTPListener(): Promise<number> {
  return (await control<{ port: number }>('POST', '/listeners')).port;
}

/** The listener closes its port (connections refused) until `smtpUp(port)`. */
export const smtpDown = (port: number): Promise<void> => control('POST', '/down', { port });
export const smtpUp = (port: number): Promise<void> => control('POST', '/up', { port });

/** RCPT TO these addresses (use unique ones: the server is shared by all test files) is answered `code` (550: permanent; 451: transient). */
export const rejectRecipients = (recipients: string[], code: number): Promise<void> =>
  control('POST', '/reject', { recipients, code });

/** This username is accepted with this password only (535 otherwise); other logins as before. */
export const requireSMTPAuth = (login: { username: string; password: string }) =>
  control<void>('POST', '/auth', login);

export const smtpAuthAttempts = (): Promise<{ username: string; accepted: boolean }[]> =>
  control('GET', '/auth-attempts');

/** A recipient address no other test uses. */
export function uniqueRecipient(label = 'user'): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@mail.gatehouse.test`;
}
