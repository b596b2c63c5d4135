// Pure parts of mail delivery: SMTP_URL parsing (src/lib/smtp-url.ts) and the header-safety rules
// every name, address and subject passes before it is queued or sent (src/features/mail/address.ts).
import { describe, expect, it } from 'vitest';
import {
  isSafeAddress,
  isSafeSubject,
  parseMailbox,
  recipientDomain,
} from '../../src/features/mail/address.ts';
import { safeAnswer } from '../../src/features/mail/smtp.ts';
import { isLoopbackHost, parseSMTPURL } from '../../src/lib/smtp-url.ts';

describe('SMTP_URL', () => {
  it('smtps:// is implicit TLS on 465, smtp:// STARTTLS on 587, user and password decoded', () => {
    expect(parseSMTPURL('smtps://ann%40x.example:p%2Fw@smtp.example.com')).toEqual({
      ok: true,
      endpoint: {
        host: 'smtp.example.com',
        port: 465,
        security: 'implicit',
        username: 'ann@x.example',
        password: 'p/w',
      },
    });
    expect(parseSMTPURL('smtp://smtp.example.com')).toMatchObject({
      ok: true,
      endpoint: { port: 587, security: 'starttls', username: null, password: null },
    });
    expect(parseSMTPURL('smtp://127.0.0.1:2525?tls=none')).toMatchObject({
      ok: true,
      endpoint: { port: 2525, security: 'none' },
    });
  });

  it('refuses plaintext to a remote host, port 25, other schemes and other query settings', () => {
    for (const url of [
      'smtp://smtp.example.com:2525?tls=none',
      'smtps://smtp.example.com?tls=none',
      'smtp://smtp.example.com:25',
      'https://smtp.example.com',
      'smtp://smtp.example.com?tls=off',
      'not a url',
    ]) {
      expect(parseSMTPURL(url).ok, url).toBe(false);
    }
  });

  it('never repeats the URL (and its password) in a message', () => {
    const result = parseSMTPURL('smtp://u:s3cret-pw@smtp.example.com:2525?tls=none');
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('s3cret-pw');
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['128.0.0.1', 'localhost.example.com', '10.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('header safety', () => {
  it('accepts plain addresses only', () => {
    expect(isSafeAddress('ann.o+tag@mail.example.com')).toBe(true);
    for (const bad of [
      'a@b.example\r\nBcc: c@d.example',
      'a@b.example\nx',
      'Ann <a@b.example>',
      '"a b"@c.example',
      'a@b.example, c@d.example',
      'a@-b.example',
      `${'a'.repeat(250)}@b.example`,
    ])
      expect(isSafeAddress(bad), JSON.stringify(bad)).toBe(false);
  });

  it('refuses line breaks and controls in a subject', () => {
    expect(isSafeSubject('Réinitialisez votre mot de passe')).toBe(true);
    for (const bad of ['a\r\nBcc: x@y.example', 'a\nb', 'a\u0000b', 'a\u2028b', 'x'.repeat(201)])
      expect(isSafeSubject(bad), JSON.stringify(bad)).toBe(false);
  });

  it('reads `Name <address>` and refuses names that could break out of their quotes', () => {
    expect(parseMailbox('Gatehouse <no-reply@example.com>')).toEqual({
      name: 'Gatehouse',
      email: 'no-reply@example.com',
    });
    expect(parseMailbox('"Gatehouse" <no-reply@example.com>')).toEqual({
      name: 'Gatehouse',
      email: 'no-reply@example.com',
    });
    expect(parseMailbox('no-reply@example.com')).toEqual({
      name: null,
      email: 'no-reply@example.com',
    });
    for (const bad of [
      'Evil\r\nBcc: x@y.example <a@b.example>',
      'Ev"il <a@b.example>',
      'Ev\\il <a@b.example>',
      'Name <a@b.example\r\n>',
    ])
      expect(parseMailbox(bad), JSON.stringify(bad)).toBeNull();
  });

  it('logs a recipient by its domain, and a server answer with its addresses blanked', () => {
    expect(recipientDomain('Ann@Mail.Example.COM')).toBe('mail.example.com');
    expect(safeAnswer('550 5.1.1 <ann@example.com>: Recipient address rejected\r\n')).toBe(
      '550 5.1.1 <…>: Recipient address rejected',
    );
    expect(safeAnswer('550 no such user ann@example.com')).toBe('550 no such user …@…');
  });
});
