// Shared by the email-flow tests: a Mailer that keeps what it is handed, so a test reads the
// link or code out of the mail text as a user would, and requests sent with it in place.
import { expect } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import {
  emailContentSettingsSchema,
  type EmailContentSettings,
} from '../../../src/features/email/settings.ts';
import type { MailMessage, Mailer } from '../../../src/features/mail/message.ts';
import type { TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type Sent } from '../harness.ts';

export const PASSWORD = 'correct horse battery';
export const NEW_PASSWORD = 'violet staple engine';

export class RecordingMailer implements Mailer {
  readonly messages: MailMessage[] = [];
  enqueue(message: MailMessage): Promise<void> {
    this.messages.push(message);
    return Promise.resolve();
  }
  /** The mails of a kind to an address, oldest first. */
  to(address: string, kind?: MailMessage['kind']): MailMessage[] {
    return this.messages.filter(
      (m) =>
        m.to.toLowerCase() === address.toLowerCase() && (kind === undefined || m.kind === kind),
    );
  }
  last(address: string, kind?: MailMessage['kind']): MailMessage {
    const list = this.to(address, kind);
    expect(list.length, `a ${kind ?? ''} mail to ${address}`).toBeGreaterThan(0);
    return list[list.length - 1]!;
  }
}

export interface MailOptions {
  mailer: RecordingMailer;
  clock?: Clock;
  headers?: Record<string, string>;
}

/** POST with the recording mailer (and optionally a clock) in place of the real deps. */
export function post(
  tenant: TestTenant,
  path: string,
  body: unknown,
  options: MailOptions,
): Promise<Sent> {
  return send(`${tenant.base}${path}`, jsonRequest('POST', body, options.headers ?? {}), {
    app: {
      overrideDeps: () => ({
        mail: options.mailer,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      }),
    },
  });
}

/** The token in a mailed link, read from the text body as a user's browser would. */
export function tokenFromMail(message: MailMessage): string {
  const match = /[#?]token=([A-Za-z0-9_-]+)/.exec(message.text);
  expect(match, 'a token= link in the mail text').not.toBeNull();
  return match![1]!;
}

/** The six-digit code in a sign-in mail's text. */
export function codeFromMail(message: MailMessage): string {
  const match = /^\s*([0-9]{6})\s*$/m.exec(message.text);
  expect(match, 'a six-digit code on a line of its own').not.toBeNull();
  return match![1]!;
}

/** The first request per isolate checks the schema (a round trip): out of the budgets' way. */
export async function warmUp(): Promise<void> {
  await send('/t/no-such-tenant-warmup/v1/auth/session');
}

/** A tenant's `settings.mail` from the fields a test cares about (the rest at their defaults). */
export function mailSettings(fields: Record<string, unknown>): EmailContentSettings {
  return emailContentSettingsSchema.parse(fields);
}
