import { BINDING_TIMEOUT_MS, withDeadline } from '../../dependencies.ts';
import { AppError } from '../../errors.ts';
import { isSafeAddress, isSafeSubject } from './address.ts';
import type { MailMessage, Mailer } from './message.ts';

/** What travels on MAIL_QUEUE: the message as handed over, and when. */
export interface QueuedMail {
  v: 1;
  message: MailMessage;
  queuedAt: string;
}

/**
 * Refuses a message that could not be sent safely: a recipient that is not a plain address or a
 * subject with a line break would otherwise become an injected header (or SMTP command).
 */
export function checkMessage(message: MailMessage): void {
  if (!isSafeAddress(message.to))
    throw new AppError('invalid_request', 'the recipient is not a deliverable address');
  if (!isSafeSubject(message.subject))
    throw new AppError(
      'invalid_request',
      'the subject must be one line without control characters',
    );
}

/** Requests enqueue (one subrequest) and answer; the consumer in the same Worker sends. */
export function createQueueMailer(queue: Queue<unknown> | null, now: () => Date): Mailer {
  return {
    async enqueue(message) {
      checkMessage(message);
      if (queue === null) throw new AppError('misconfigured', 'MAIL_QUEUE is not bound');
      const queued: QueuedMail = { v: 1, message, queuedAt: now().toISOString() };
      await withDeadline('queue', BINDING_TIMEOUT_MS, () =>
        queue.send(queued, { contentType: 'json' }),
      );
    },
  };
}
