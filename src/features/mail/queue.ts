// The mail queue's consumers, in the same Worker as the requests that enqueue:
//   gatehouse-mail       sends each message; a transient failure retries with growing delays,
//                        a permanent one (5xx, refused) or the last attempt goes to the DLQ
//   gatehouse-mail-dead  records `mail.failed` (no content, no token, no address) and acks
// Nothing is dropped: a message leaves MAIL_QUEUE only delivered or dead-lettered, and leaves the
// DLQ only once its audit event is written.
import { createDeps, type Deps, type DepsOverride } from '../../deps.ts';
import { loadConfig, type Env } from '../../env.ts';
import { createLogger, type Logger } from '../../log.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { recipientDomain } from './address.ts';
import { deliver } from './delivery.ts';
import { checkMessage, type QueuedMail } from './mailer.ts';
import type { MailKind, MailMessage } from './message.ts';
import { MailDeliveryError } from './smtp.ts';

export const MAIL_QUEUE_NAME = 'gatehouse-mail';
export const MAIL_DEAD_LETTER_QUEUE_NAME = 'gatehouse-mail-dead';
/** Attempts before a transiently failing message is dead-lettered (wrangler.toml max_retries ≥ this). */
export const MAIL_MAX_ATTEMPTS = 8;

/** Seconds before attempt n+1: 30 s doubling to an hour (30 s … 1 h, about 2 h in all). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

/** What the DLQ carries: the message (so an operator could resend it) and why it failed. */
export interface DeadMail {
  v: 1;
  message: MailMessage;
  attempts: number;
  permanent: boolean;
  /** The server's last answer or our refusal, addresses blanked. */
  answer: string;
}

export interface MailQueueOptions {
  overrideDeps?: DepsOverride;
}

function depsFor(env: Env, ctx: ExecutionContext, options: MailQueueOptions): Deps {
  const result = loadConfig(env);
  if (!result.ok) throw new Error('configuration refused: see the settings named at startup');
  const log = createLogger(result.config.logLevel);
  const deps = createDeps({
    env,
    config: result.config,
    log,
    waitUntil: (promise) => ctx.waitUntil(promise),
  });
  return options.overrideDeps === undefined ? deps : { ...deps, ...options.overrideDeps(deps) };
}

function readQueued(body: unknown): MailMessage | null {
  const queued = body as Partial<QueuedMail> | null;
  const message = queued?.v === 1 ? queued.message : (body as MailMessage | null);
  if (
    message === null ||
    message === undefined ||
    typeof message.tenantId !== 'string' ||
    typeof message.to !== 'string' ||
    typeof message.subject !== 'string' ||
    typeof message.text !== 'string' ||
    typeof message.html !== 'string' ||
    typeof message.kind !== 'string'
  )
    return null;
  return message;
}

function mailFields(message: MailMessage): Record<string, unknown> {
  return {
    kind: message.kind,
    tenantId: message.tenantId,
    recipientDomain: recipientDomain(message.to),
  };
}

export async function handleMailBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  options: MailQueueOptions = {},
): Promise<void> {
  const deps = depsFor(env, ctx, options);
  const deadLetters = env.MAIL_DEAD_LETTER_QUEUE ?? null;
  for (const item of batch.messages) {
    await consumeOne(deps, deadLetters, item);
  }
}

async function consumeOne(
  deps: Deps,
  deadLetters: Queue<unknown> | null,
  item: Message<unknown>,
): Promise<void> {
  const { log } = deps;
  const message = readQueued(item.body);
  let failure: MailDeliveryError;
  if (message === null) {
    failure = new MailDeliveryError(true, 'refused: not a mail message');
  } else {
    try {
      checkMessage(message);
      const { answer, route } = await deliver(deps, message);
      log.info('mail sent', { ...mailFields(message), route, attempts: item.attempts, answer });
      item.ack();
      return;
    } catch (error) {
      failure =
        error instanceof MailDeliveryError
          ? error
          : error instanceof Error && error.name === 'AppError'
            ? new MailDeliveryError(true, `refused: ${error.message}`)
            : new MailDeliveryError(false, 'delivery failed before SMTP (database or settings)');
    }
  }
  const fields = message === null ? { id: item.id } : mailFields(message);
  if (!failure.permanent && item.attempts < MAIL_MAX_ATTEMPTS) {
    const delaySeconds = retryDelaySeconds(item.attempts);
    log.warn('mail not sent; retrying', {
      ...fields,
      attempts: item.attempts,
      delaySeconds,
      answer: failure.answer,
    });
    item.retry({ delaySeconds });
    return;
  }
  await deadLetter(log, deadLetters, item, message, failure, fields);
}

async function deadLetter(
  log: Logger,
  deadLetters: Queue<unknown> | null,
  item: Message<unknown>,
  message: MailMessage | null,
  failure: MailDeliveryError,
  fields: Record<string, unknown>,
): Promise<void> {
  log.error('mail failed; dead-lettered', {
    ...fields,
    attempts: item.attempts,
    permanent: failure.permanent,
    answer: failure.answer,
  });
  if (deadLetters === null || message === null) {
    // No DLQ bound (or nothing readable to carry): wrangler's dead_letter_queue takes it once
    // the retries run out; until then it stays on the queue.
    item.retry({ delaySeconds: retryDelaySeconds(item.attempts) });
    return;
  }
  try {
    const dead: DeadMail = {
      v: 1,
      message,
      attempts: item.attempts,
      permanent: failure.permanent,
      answer: failure.answer,
    };
    await deadLetters.send(dead, { contentType: 'json' });
    item.ack();
  } catch {
    item.retry({ delaySeconds: retryDelaySeconds(item.attempts) });
  }
}

/** The DLQ's consumer: one `mail.failed` audit event per message, then ack. */
export async function handleDeadMailBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  options: MailQueueOptions = {},
): Promise<void> {
  const deps = depsFor(env, ctx, options);
  for (const item of batch.messages) {
    const dead = item.body as Partial<DeadMail> | null;
    // A message wrangler dead-lettered itself (the consumer kept failing) has no answer.
    const message =
      dead?.v === 1 && dead.message !== undefined ? dead.message : readQueued(item.body);
    try {
      await recordAuditEvent(deps.db, {
        tenantId: message?.tenantId ?? null,
        type: 'mail.failed',
        actor: { type: 'system' },
        target: { type: 'mail', id: null },
        details: {
          kind: (message?.kind ?? 'unknown') as MailKind | 'unknown',
          recipientDomain: message === null ? null : recipientDomain(message.to),
          attempts: dead?.v === 1 ? dead.attempts : item.attempts,
          permanent: dead?.v === 1 ? dead.permanent : null,
          lastAnswer: dead?.v === 1 ? dead.answer : 'retries exhausted (no answer recorded)',
        },
        at: deps.clock.now(),
      });
      item.ack();
    } catch {
      deps.log.error('mail.failed audit event not written; the dead-letter queue will retry', {
        id: item.id,
      });
      item.retry({ delaySeconds: retryDelaySeconds(item.attempts) });
    }
  }
}
