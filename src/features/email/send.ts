import type { Deps } from '../../deps.ts';
import { describeError } from '../../log.ts';
import type { MailMessage } from '../mail/message.ts';

/**
 * Hands a mail to delivery after the answer, off its path: the response neither waits for the
 * queue nor tells by its timing whether a mail was sent (a reset for an unknown address sends
 * none). A failure is logged by kind and tenant only: the message carries a token or code.
 */
export function queueMail(deps: Deps, message: MailMessage): void {
  deps.waitUntil(
    deps.mail.enqueue(message).catch((error: unknown) => {
      deps.log.error('mail not queued', {
        kind: message.kind,
        tenantId: message.tenantId,
        ...describeError(error, false),
      });
    }),
  );
}
