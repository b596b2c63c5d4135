import { z } from 'zod';
import { isSafeAddress, isSafeName, parseMailbox } from './address.ts';

// A tenant's own SMTP server: `settings.mail` in storage (camelCase, beside the email flows'
// content settings, which the same object carries). The password is not here: it is sealed in
// tenants.smtp_password_sealed (see repo.ts), written through the admin API, never read back.

const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const mailbox = z
  .string()
  .max(360)
  .refine((value) => parseMailbox(value) !== null, {
    message: 'must be an address or `Name <address>` without quotes, brackets or line breaks',
  });

/** Transport fields of `settings.mail` (storage form). Unset host: the deployment's SMTP_URL. */
export const mailTransportSettingsSchema = z.object({
  host: z.string().regex(HOST, 'must be a host name').optional(),
  port: z.number().int().min(1).max(65_535).optional(),
  /** implicit (465), starttls (587, required), none (plaintext, loopback hosts only). */
  tls: z.enum(['implicit', 'starttls', 'none']).optional(),
  username: z
    .string()
    .min(1)
    .max(200)
    .refine((value) => isSafeName(value) || isSafeAddress(value), 'must not contain line breaks')
    .optional(),
  from: mailbox.optional(),
  replyTo: mailbox.optional(),
});

export type MailTransportSettings = z.infer<typeof mailTransportSettingsSchema>;

/** The admin API's form (snake_case) of a change: every field optional, null clears it. */
export const mailTransportPatchSchema = z.strictObject({
  host: mailTransportSettingsSchema.shape.host.unwrap().nullable().optional(),
  port: mailTransportSettingsSchema.shape.port.unwrap().nullable().optional(),
  tls: mailTransportSettingsSchema.shape.tls.unwrap().nullable().optional(),
  username: mailTransportSettingsSchema.shape.username.unwrap().nullable().optional(),
  /** Write-only: sealed on arrival, never returned (GET shows `password_set`). null clears it. */
  password: z.string().min(1).max(500).nullable().optional(),
  from: mailbox.nullable().optional(),
  reply_to: mailbox.nullable().optional(),
});

export type MailTransportPatch = z.infer<typeof mailTransportPatchSchema>;

/** What GET shows: the settings and whether a password is stored, never the password. */
export const mailTransportViewSchema = z.object({
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  tls: z.string().nullable(),
  username: z.string().nullable(),
  password_set: z.boolean(),
  from: z.string().nullable(),
  reply_to: z.string().nullable(),
});

export function mailTransportView(
  stored: MailTransportSettings,
  passwordSet: boolean,
): z.infer<typeof mailTransportViewSchema> {
  return {
    host: stored.host ?? null,
    port: stored.port ?? null,
    tls: stored.tls ?? null,
    username: stored.username ?? null,
    password_set: passwordSet,
    from: stored.from ?? null,
    reply_to: stored.replyTo ?? null,
  };
}

/** The patch in storage form: fields to set, fields to remove (null in the patch). */
export function mailTransportStored(patch: MailTransportPatch): {
  set: Partial<MailTransportSettings>;
  unset: string[];
} {
  const pairs: [keyof MailTransportSettings, unknown][] = [
    ['host', patch.host],
    ['port', patch.port],
    ['tls', patch.tls],
    ['username', patch.username],
    ['from', patch.from],
    ['replyTo', patch.reply_to],
  ];
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  for (const [key, value] of pairs) {
    if (value === null) unset.push(key);
    else if (value !== undefined) set[key] = value;
  }
  return { set: set as Partial<MailTransportSettings>, unset };
}
