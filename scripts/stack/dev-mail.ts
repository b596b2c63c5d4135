// The dev stack's mail viewer: every message the Worker sends lands in the local SMTP server,
// is saved as `.eml` under the data directory's mail/ folder (open it in any mail client), and
// gets one line in the dev log with its recipient, subject and the links found in it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSMTPServer, type ReceivedMail, type SMTPStack } from './smtp-server.ts';

/** http(s) links in a message's text (and HTML, for a message without text), in order, once each. */
export function linksIn(mail: Pick<ReceivedMail, 'text' | 'html'>): string[] {
  const found = `${mail.text}\n${mail.html}`.match(/https?:\/\/[^\s<>"')\]]+/g) ?? [];
  return [...new Set(found.map((link) => link.replace(/&amp;/g, '&').replace(/[.,;]+$/, '')))];
}

/** `2026-12-02T03-04-05.678Z-<recipient>.eml`: sorts by arrival, names who it was for. */
export function emlName(mail: Pick<ReceivedMail, 'to' | 'receivedAt'>): string {
  const who = (mail.to[0] ?? 'unknown').replace(/[^A-Za-z0-9@._-]/g, '_');
  return `${mail.receivedAt.replace(/:/g, '-')}-${who}.eml`;
}

export async function startDevMail(options: {
  dir: string;
  say: (line: string) => void;
}): Promise<SMTPStack> {
  mkdirSync(options.dir, { recursive: true });
  return startSMTPServer({
    // No AUTH offered: the Worker sends without a login, as SMTP_URL gives none.
    auth: false,
    onMail(mail) {
      const file = join(options.dir, emlName(mail));
      writeFileSync(file, mail.raw);
      const links = linksIn(mail);
      options.say(
        `mail         to ${mail.to.join(', ')}: "${mail.subject}" → ${file}` +
          (links.length === 0 ? '' : `\n             links: ${links.join(' ')}`),
      );
    },
  });
}
