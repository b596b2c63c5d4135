// Issue 12, delivery: through the Worker inside workerd, speaking SMTP over `connect()` to a real
// SMTP server on loopback (smtp-server + mailparser, test/global-setup.ts): enqueue → consume →
// receive; retries while the server is down; dead letters and `mail.failed` on a permanent
// failure; header injection refused before anything reaches the wire.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import type { Env } from '../../../src/env.ts';
import { createQueueMailer, type QueuedMail } from '../../../src/features/mail/mailer.ts';
import type { MailMessage } from '../../../src/features/mail/message.ts';
import {
  MAIL_MAX_ATTEMPTS,
  handleDeadMailBatch,
  handleMailBatch,
  type DeadMail,
} from '../../../src/features/mail/queue.ts';
import { smtpSender } from '../../../src/features/mail/smtp.ts';
import { testDeps } from '../admin/fixtures.ts';
import { makeTenant, testConfig, testDB } from '../fixtures.ts';
import { testEnv, withinInvocationLimits } from '../harness.ts';
import { requestBudget } from '../limits.ts';
import {
  addSMTPListener,
  inbox,
  rejectRecipients,
  smtpDown,
  smtpUp,
  uniqueRecipient,
  waitForMail,
} from './inbox.ts';

const TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

function mailFor(tenantId: string, to: string, subject = 'Reset your password'): MailMessage {
  return {
    tenantId,
    to,
    subject,
    text: `Reset: https://gatehouse.test/reset?token=${TOKEN}`,
    html: `<p><a href="https://gatehouse.test/reset?token=${TOKEN}">Reset</a></p>`,
    kind: 'password_reset',
  };
}

function batchOf(queue: string, bodies: unknown[], attempts = 1): MessageBatch<unknown> {
  return createMessageBatch(
    queue,
    bodies.map((body, i) => ({
      id: `m${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
}

function queued(message: MailMessage): QueuedMail {
  return { v: 1, message, queuedAt: new Date().toISOString() };
}

/** A queue binding that keeps what is sent to it. */
function recordingQueue(): { queue: Queue<unknown>; sent: unknown[] } {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => void sent.push(body),
  } as unknown as Queue<unknown>;
  return { queue, sent };
}

/**
 * Runs the mail consumer on one batch under the invocation limits: its ack/retry result, the
 * retry delays, and the console lines it wrote.
 */
async function consume(batch: MessageBatch<unknown>, env: Env = testEnv) {
  const ctx = createExecutionContext();
  // getQueueResult does not keep retry options: the delays are read off the calls.
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'));
  const logs: string[] = [];
  const { subrequests } = await withinInvocationLimits(async () => {
    const budget = requestBudget.getStore()!;
    await handleMailBatch(batch, env, ctx);
    logs.push(...budget.logs);
  });
  const delays = retries.flatMap((spy) => spy.mock.calls.map((call) => call[0]?.delaySeconds));
  return { result: await getQueueResult(batch, ctx), subrequests, delays, logs };
}

/** No log line carries the token, the subject or the recipient's address. */
function expectQuietLogs(logs: string[], to: string): void {
  expect(logs.length).toBeGreaterThan(0);
  for (const secret of [TOKEN, to, 'Reset your password'])
    expect(logs.join('\n')).not.toContain(secret);
}

describe('mail through the queue', () => {
  it('a message enqueued by a request is consumed by the Worker and received by the SMTP server', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient();
    // The real MAIL_QUEUE binding: miniflare runs this Worker's consumer after the batch timeout.
    await testDeps().mail.enqueue(mailFor(tenant.id, to));
    const mail = await waitForMail({ to, timeoutMs: 15_000 });
    expect(mail.subject).toBe('Reset your password');
    expect(mail.text).toContain(`token=${TOKEN}`);
    expect(mail.html).toContain(`token=${TOKEN}`);
    expect(mail.headers['content-type']).toMatch(/^multipart\//);
    expect(mail.from).toBe('"Gatehouse Tests" <no-reply@gatehouse.test>');
    // The default route (SMTP_URL) logged in as its user.
    expect(mail.user).toBe('gatehouse');
  });

  it('the consumer acks a delivered message; its SMTP connection counts as a subrequest', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient();
    const { result, subrequests, logs } = await consume(
      batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to))]),
    );
    expect(result.explicitAcks).toHaveLength(1);
    expect(logs.join('\n')).toContain('mail sent');
    expectQuietLogs(logs, to);
    expect(result.retryMessages).toEqual([]);
    // One SQL round trip (the tenant's settings) and one connect().
    expect(subrequests).toBe(2);
    expect(await inbox(to)).toHaveLength(1);
  });
});

describe('a server that is down', () => {
  it('is retried with a growing delay, and the message delivered when the server returns', async () => {
    const port = await addSMTPListener();
    const env = { ...testEnv, SMTP_URL: `smtp://gatehouse:pw@127.0.0.1:${port}?tls=none` };
    const tenant = await makeTenant();
    const to = uniqueRecipient();
    const body = queued(mailFor(tenant.id, to));
    await smtpDown(port);
    const first = await consume(batchOf('gatehouse-mail', [body], 1), env);
    expect(first.result.explicitAcks).toEqual([]);
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.delays).toEqual([30]);
    expectQuietLogs(first.logs, to);
    const second = await consume(batchOf('gatehouse-mail', [body], 2), env);
    expect(second.result.retryMessages).toHaveLength(1);
    expect(second.delays).toEqual([60]);
    expect(await inbox(to)).toEqual([]);
    await smtpUp(port);
    const third = await consume(batchOf('gatehouse-mail', [body], 3), env);
    expect(third.result.explicitAcks).toHaveLength(1);
    expect((await inbox(to))[0]?.subject).toBe('Reset your password');
  });
});

describe('a message that cannot be delivered', () => {
  it('a permanent 5xx goes to the dead-letter queue at once, and its consumer records mail.failed', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient('refused');
    await rejectRecipients([to], 550);
    const dlq = recordingQueue();
    const env = { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue };
    const ctx = createExecutionContext();
    const batch = batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to))]);
    await withinInvocationLimits(async () => {
      await handleMailBatch(batch, env, ctx);
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(1);
    expect(dlq.sent).toHaveLength(1);
    const dead = dlq.sent[0] as DeadMail;
    expect(dead.permanent).toBe(true);
    expect(dead.answer).toMatch(/^550 /);
    expect(dead.answer).not.toContain(to);

    const deadBatch = batchOf('gatehouse-mail-dead', [dead]);
    const deadCtx = createExecutionContext();
    await withinInvocationLimits(() => handleDeadMailBatch(deadBatch, env, deadCtx));
    expect((await getQueueResult(deadBatch, deadCtx)).explicitAcks).toHaveLength(1);
    const rows = await testDB().execute(
      sql`select details::text as details from audit_events where tenant_id = ${tenant.id}::uuid and type = 'mail.failed'`,
    );
    expect(rows.rows).toHaveLength(1);
    const details = String(rows.rows[0]!.details);
    expect(JSON.parse(details)).toMatchObject({
      kind: 'password_reset',
      recipientDomain: 'mail.gatehouse.test',
      permanent: true,
      attempts: 1,
    });
    // No content, no token, no address.
    for (const secret of [TOKEN, to, 'Reset your password']) expect(details).not.toContain(secret);
  });

  it('a transient failure on the last attempt is dead-lettered instead of retried', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient('busy');
    await rejectRecipients([to], 451);
    const dlq = recordingQueue();
    const env = { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue };
    const early = await consume(
      batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to))], 1),
      env,
    );
    expect(early.result.retryMessages).toHaveLength(1);
    expect(dlq.sent).toEqual([]);
    const last = await consume(
      batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to))], MAIL_MAX_ATTEMPTS),
      env,
    );
    expect(last.result.explicitAcks).toHaveLength(1);
    expect(dlq.sent).toEqual([
      expect.objectContaining({ permanent: false, attempts: MAIL_MAX_ATTEMPTS }),
    ]);
  });

  it('without a DLQ binding a failed message stays on the queue (retried), never acked', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient('refused');
    await rejectRecipients([to], 550);
    const env = { ...testEnv, MAIL_DEAD_LETTER_QUEUE: undefined };
    const { result } = await consume(
      batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to))]),
      env,
    );
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
  });
});

describe('header injection', () => {
  it('a CR/LF in the subject or recipient is refused at enqueue: nothing is queued', async () => {
    const tenant = await makeTenant();
    const { queue, sent } = recordingQueue();
    const mailer = createQueueMailer(queue, () => new Date());
    const to = uniqueRecipient();
    for (const message of [
      mailFor(tenant.id, to, 'Hello\r\nBcc: victim@example.com'),
      mailFor(tenant.id, `${to}\r\nRCPT TO:<victim@example.com>`),
      mailFor(tenant.id, `Evil <${to}>`),
    ]) {
      await expect(mailer.enqueue(message)).rejects.toMatchObject({ code: 'invalid_request' });
    }
    expect(sent).toEqual([]);
  });

  it('a CR/LF in a sender name or address is refused by the transport before any connection', async () => {
    const to = uniqueRecipient();
    const base = {
      host: '127.0.0.1',
      port: 1,
      security: 'none' as const,
      username: null,
      password: null,
      replyTo: null,
    };
    const mail = { to, subject: 'Hi', text: 'x', html: '<p>x</p>' };
    const { subrequests } = await withinInvocationLimits(async () => {
      for (const from of [
        { name: 'Gatehouse\r\nBcc: victim@example.com', email: 'no-reply@gatehouse.test' },
        { name: 'Quote"d', email: 'no-reply@gatehouse.test' },
        { name: null, email: 'no-reply@gatehouse.test\r\nRCPT TO:<victim@example.com>' },
      ]) {
        await expect(smtpSender.send({ ...base, from }, mail)).rejects.toMatchObject({
          permanent: true,
        });
      }
    });
    expect(subrequests).toBe(0);
  });

  it('a queued message with an injected subject is dead-lettered, never sent', async () => {
    const tenant = await makeTenant();
    const to = uniqueRecipient();
    const dlq = recordingQueue();
    const { result } = await consume(
      batchOf('gatehouse-mail', [queued(mailFor(tenant.id, to, 'Hi\r\nBcc: victim@example.com'))]),
      { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue },
    );
    expect(result.explicitAcks).toHaveLength(1);
    expect(dlq.sent).toEqual([expect.objectContaining({ permanent: true })]);
    expect(await inbox(to)).toEqual([]);
    expect(testConfig().mail.smtp).not.toBeNull();
  });
});
