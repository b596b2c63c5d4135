// The production MailSender: SMTP over Workers' TCP sockets (`connect()` from cloudflare:sockets)
// through worker-mailer 1.2.1 (pinned: two of its internals are used, see `openSession`).
import type * as WorkerMailerModule from 'worker-mailer';
import type { WorkerMailer, WorkerMailerOptions } from 'worker-mailer';
import { isLoopbackHost, type SMTPEndpoint } from '../../lib/smtp-url.ts';
import { isSafeAddress, isSafeName, isSafeSubject, type Mailbox } from './address.ts';

/** Where and as whom one message goes out. */
export interface SMTPTarget extends SMTPEndpoint {
  from: Mailbox;
  replyTo: Mailbox | null;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailSender {
  /** Resolves with the server's answer to the message (`250 …`); throws MailDeliveryError. */
  send(target: SMTPTarget, mail: OutgoingMail): Promise<{ answer: string }>;
}

/**
 * A failed delivery. `permanent`: a 5xx answer or a refusal of ours (unsafe header, plaintext to
 * a remote host, STARTTLS not offered): retrying cannot help. Otherwise (4xx, connection refused,
 * timeout) the queue retries. `answer` is the server's last reply with addresses blanked, safe
 * for logs and audit events; the message never carries the password or the mail's content.
 */
export class MailDeliveryError extends Error {
  readonly permanent: boolean;
  readonly answer: string;
  constructor(permanent: boolean, answer: string) {
    super(`mail delivery failed (${permanent ? 'permanent' : 'transient'}): ${answer}`);
    this.name = 'MailDeliveryError';
    this.permanent = permanent;
    this.answer = answer;
  }
}

/** Seconds to wait for the TCP/TLS handshake and for each reply (one budget covers both). */
const TIMEOUT_MS = 15_000;

/** Refuses what must not reach the wire; throws a permanent MailDeliveryError. */
export function checkOutgoing(target: SMTPTarget, mail: OutgoingMail): void {
  const refuse = (what: string): never => {
    throw new MailDeliveryError(true, `refused: ${what}`);
  };
  if (!isSafeAddress(mail.to)) refuse('recipient address is not a safe address');
  if (!isSafeSubject(mail.subject)) refuse('subject has a line break or control character');
  for (const box of [target.from, target.replyTo]) {
    if (box === null) continue;
    if (!isSafeAddress(box.email)) refuse('sender address is not a safe address');
    if (box.name !== null && !isSafeName(box.name)) refuse('sender name is not header-safe');
  }
  if (target.security === 'none' && !isLoopbackHost(target.host))
    refuse('plaintext SMTP to a non-loopback host');
  if (target.port === 25) refuse('port 25 is blocked on Workers');
}

/** A server reply (or library message) made safe to log: addresses blanked, one line, bounded. */
export function safeAnswer(text: string): string {
  return text
    .replace(/<[^<>]*>/g, '<…>')
    .replace(/[^\s<>:;,]+@[^\s<>:;,]+/g, '…@…')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/**
 * The last reply's code decides: 5xx permanent, anything else (4xx, no reply at all) transient. A
 * library refusal no retry can fix (the server asks for AUTH we cannot do) is permanent, whatever
 * the last reply was (typically EHLO's 250).
 */
function classify(lastReply: string | null, error: unknown): MailDeliveryError {
  if (error instanceof MailDeliveryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/requires authentication|No supported auth method/i.test(message))
    return new MailDeliveryError(true, safeAnswer(message));
  const lines = (lastReply ?? '').split(/\r?\n/).filter((line) => /^\d{3}/.test(line));
  const final = lines.at(-1) ?? null;
  if (final !== null && !final.startsWith('2'))
    return new MailDeliveryError(final.startsWith('5'), safeAnswer(final));
  return new MailDeliveryError(false, safeAnswer(message));
}

/** worker-mailer's internals this module relies on (version 1.2.1). */
interface SessionInternals {
  supportsStartTls: boolean;
  readTimeout(): Promise<string>;
  auth(): Promise<void>;
  initializeSmtpSession(): Promise<void>;
  start(): Promise<void>;
}

/**
 * `WorkerMailer.connect`, with two changes made on the instance: every reply is recorded (the
 * library keeps them to itself, and the caller wants the server's answer), and in `starttls`
 * mode AUTH and everything after it is refused unless the connection was upgraded: the library
 * falls back to plaintext when the server does not offer STARTTLS, which a man in the middle can
 * arrange by deleting the capability.
 */
async function openSession(
  library: typeof WorkerMailerModule,
  options: WorkerMailerOptions,
  security: SMTPTarget['security'],
  replies: { last: string | null },
): Promise<WorkerMailer> {
  const Mailer = library.WorkerMailer as unknown as new (o: WorkerMailerOptions) => WorkerMailer;
  const mailer = new Mailer(options);
  const inner = mailer as unknown as SessionInternals;
  const readTimeout = inner.readTimeout.bind(mailer);
  inner.readTimeout = async () => {
    const reply = await readTimeout();
    replies.last = reply;
    return reply;
  };
  const auth = inner.auth.bind(mailer);
  inner.auth = async () => {
    if (security === 'starttls' && !inner.supportsStartTls)
      throw new MailDeliveryError(true, 'refused: the server did not offer STARTTLS');
    await auth();
  };
  try {
    await inner.initializeSmtpSession();
  } catch (error) {
    // The library leaves a session that failed its greeting, STARTTLS or login open: close it,
    // keeping the reply that explains the failure (QUIT's own would replace it).
    const last = replies.last;
    await quit(mailer);
    replies.last = last;
    throw error;
  }
  // The library's send loop; its errors reach each message's promise.
  inner.start().catch(() => {});
  return mailer;
}

export const smtpSender: MailSender = {
  async send(target, mail) {
    checkOutgoing(target, mail);
    // Loaded on first use: it imports cloudflare:sockets, which Node (the CLI, which shares
    // src/deps.ts) does not have.
    const library = await import('worker-mailer');
    const credentials =
      target.username === null
        ? undefined
        : { username: target.username, password: target.password ?? '' };
    const options: WorkerMailerOptions = {
      host: target.host,
      port: target.port,
      secure: target.security === 'implicit',
      startTls: target.security === 'starttls',
      ...(credentials === undefined ? {} : { credentials }),
      authType: ['plain', 'login', 'cram-md5'],
      // The library's own logging includes recipients and, at DEBUG, the AUTH exchange.
      logLevel: library.LogLevel.NONE,
      socketTimeoutMs: TIMEOUT_MS,
      responseTimeoutMs: TIMEOUT_MS,
    };
    const replies: { last: string | null } = { last: null };
    let mailer: WorkerMailer;
    try {
      mailer = await openSession(library, options, target.security, replies);
    } catch (error) {
      throw classify(replies.last, error);
    }
    try {
      await mailer.send({
        from: box(target.from),
        to: mail.to,
        ...(target.replyTo === null ? {} : { reply: box(target.replyTo) }),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      return { answer: safeAnswer(replies.last ?? '250') };
    } catch (error) {
      throw classify(replies.last, error);
    } finally {
      // QUIT, awaited (I/O left running after the invocation returns belongs to no one), but
      // bounded: the socket's close() can hang in workerd (cloudflare/workerd#2060).
      await quit(mailer);
    }
  },
};

const QUIT_TIMEOUT_MS = 2_000;

async function quit(mailer: WorkerMailer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    mailer.close().catch(() => {}),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
}

function box(mailbox: Mailbox): { email: string; name?: string } {
  return mailbox.name === null
    ? { email: mailbox.email }
    : { email: mailbox.email, name: mailbox.name };
}
