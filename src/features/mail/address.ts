// Header safety for outgoing mail. worker-mailer writes names, addresses and the subject into
// RFC 5322 headers (and addresses into SMTP commands) as given, so anything that could end a
// line or a quoted string is refused here, before a message is queued or sent: never passed on.

/** A name and an address, as in `Gatehouse <no-reply@example.com>`. */
export interface Mailbox {
  name: string | null;
  email: string;
}

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254. */
const MAX_ADDRESS = 254;
export const MAX_SUBJECT = 200;
const MAX_NAME = 100;

// A pragmatic dot-atom address: no spaces, quotes, brackets, commas, semicolons or controls.
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

export function isSafeAddress(value: string): boolean {
  return value.length <= MAX_ADDRESS && ADDRESS.test(value);
}

/** A display name: no line breaks or controls, no `"` or `\` (it goes inside a quoted string). */
export function isSafeName(value: string): boolean {
  return value.length <= MAX_NAME && !CONTROL.test(value) && !/["\\<>]/.test(value);
}

/** A subject: one line, no controls. */
export function isSafeSubject(value: string): boolean {
  return value.length <= MAX_SUBJECT && !CONTROL.test(value);
}

/** `addr` or `Name <addr>`; null when either part is unsafe. */
export function parseMailbox(value: string): Mailbox | null {
  // A control character anywhere refuses the whole value, even where trimming would drop it.
  if (CONTROL.test(value)) return null;
  const trimmed = value.trim();
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(trimmed);
  const name = named === null ? null : named[1]!.replace(/^"(.*)"$/, '$1').trim() || null;
  const email = named === null ? trimmed : named[2]!.trim();
  if (!isSafeAddress(email)) return null;
  if (name !== null && !isSafeName(name)) return null;
  return { name, email };
}

export function formatMailbox(mailbox: Mailbox): string {
  return mailbox.name === null ? mailbox.email : `${mailbox.name} <${mailbox.email}>`;
}

/** What a log line or an audit event may say about a recipient: its domain, never the address. */
export function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? '' : address.slice(at + 1).toLowerCase();
}
