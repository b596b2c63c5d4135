// The dev stack's mail viewer: what the log line shows of a message (its links), and the .eml
// file names; then a real message through the local SMTP server into the mail directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { emlName, linksIn, startDevMail } from '../../scripts/stack/dev-mail.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-mail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal SMTP client: sends the lines, one reply each (the greeting first). */
async function smtpSend(port: number, lines: string[]): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port });
  const replies: string[] = [];
  let buffer = '';
  let waiting: (() => void) | null = null;
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    while (/\r\n/.test(buffer)) {
      const line = buffer.slice(0, buffer.indexOf('\r\n'));
      buffer = buffer.slice(buffer.indexOf('\r\n') + 2);
      if (/^\d{3} /.test(line)) {
        replies.push(line);
        waiting?.();
      }
    }
  });
  const reply = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (replies.length >= count ? resolve() : (waiting = check));
      check();
    });
  await reply(1);
  for (const [i, line] of lines.entries()) {
    socket.write(`${line}\r\n`);
    await reply(i + 2);
  }
  socket.end();
  return replies;
}

describe('the dev mail viewer', () => {
  it('finds each link once, in order, without trailing punctuation or HTML escapes', () => {
    expect(
      linksIn({
        text: 'Reset: https://auth.test/reset?token=abc. Or http://x.test/a',
        html: '<a href="https://auth.test/reset?token=abc">x</a> <a href="https://y.test/?a=1&amp;b=2">y</a>',
      }),
    ).toEqual(['https://auth.test/reset?token=abc', 'http://x.test/a', 'https://y.test/?a=1&b=2']);
  });

  it('names files by arrival time and recipient, safe on every file system', () => {
    expect(emlName({ to: ['a/b@x.test'], receivedAt: '2026-12-02T03:04:05.678Z' })).toBe(
      '2026-12-02T03-04-05.678Z-a_b@x.test.eml',
    );
  });

  it('saves a received message as .eml and logs its subject and links', async () => {
    const lines: string[] = [];
    const server = await startDevMail({ dir, say: (line) => lines.push(line) });
    try {
      const replies = await smtpSend(server.port, [
        'EHLO test',
        'MAIL FROM:<no-reply@gatehouse.localhost>',
        'RCPT TO:<dev@example.com>',
        'DATA',
        'Subject: Verify your email\r\nFrom: no-reply@gatehouse.localhost\r\nTo: dev@example.com\r\n\r\nOpen https://gatehouse.localhost/verify?token=t1\r\n.',
        'QUIT',
      ]);
      expect(replies.slice(0, 6).map((reply) => reply.slice(0, 3))).toEqual([
        '220',
        '250',
        '250',
        '250',
        '354',
        '250',
      ]);
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(readFileSync(join(dir, files[0]!), 'utf8')).toContain('Subject: Verify your email');
      expect(lines.join('\n')).toContain('to dev@example.com: "Verify your email"');
      expect(lines.join('\n')).toContain('links: https://gatehouse.localhost/verify?token=t1');
    } finally {
      await server.close();
    }
  });
});
