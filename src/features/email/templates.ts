import type { MailKind, MailMessage } from '../mail/message.ts';
import type { EmailContentSettings, TemplateKind } from './settings.ts';

/** What a template may name as `{{variable}}`; unknown names render as nothing. */
export interface TemplateValues {
  product_name: string;
  email: string;
  /** verify and reset mails */
  link?: string;
  /** email_otp */
  code?: string;
  expires_minutes?: string;
}

interface Template {
  subject: string;
  text: string;
  html: string;
}

// Plain defaults: readable as text, the HTML a light copy of it with the link as a link.
const DEFAULTS: Record<TemplateKind, Template> = {
  email_verification: {
    subject: 'Confirm your email address for {{product_name}}',
    text: [
      'Hello,',
      '',
      'Please confirm that {{email}} is your email address for {{product_name}} by opening this link:',
      '',
      '{{link}}',
      '',
      'The link works once and expires in {{expires_minutes}} minutes.',
      'If you did not create an account, you can ignore this mail.',
    ].join('\n'),
    html: [
      '<p>Hello,</p>',
      '<p>Please confirm that {{email}} is your email address for {{product_name}}:</p>',
      '<p><a href="{{link}}">Confirm my email address</a></p>',
      '<p>Or copy this link into your browser:<br>{{link}}</p>',
      '<p>The link works once and expires in {{expires_minutes}} minutes. If you did not create an account, you can ignore this mail.</p>',
    ].join('\n'),
  },
  password_reset: {
    subject: 'Reset your {{product_name}} password',
    text: [
      'Hello,',
      '',
      'Someone asked to reset the password of the {{product_name}} account for {{email}}.',
      'To choose a new password, open this link:',
      '',
      '{{link}}',
      '',
      'The link works once and expires in {{expires_minutes}} minutes.',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
    html: [
      '<p>Hello,</p>',
      '<p>Someone asked to reset the password of the {{product_name}} account for {{email}}.</p>',
      '<p><a href="{{link}}">Choose a new password</a></p>',
      '<p>Or copy this link into your browser:<br>{{link}}</p>',
      '<p>The link works once and expires in {{expires_minutes}} minutes. If you did not ask for this, ignore this mail: your password stays as it is.</p>',
    ].join('\n'),
  },
  password_changed: {
    subject: 'Your {{product_name}} password was changed',
    text: [
      'Hello,',
      '',
      'The password of the {{product_name}} account for {{email}} was just reset, and every session was signed out.',
      'If this was not you, reset your password again at once and contact support.',
    ].join('\n'),
    html: [
      '<p>Hello,</p>',
      '<p>The password of the {{product_name}} account for {{email}} was just reset, and every session was signed out.</p>',
      '<p>If this was not you, reset your password again at once and contact support.</p>',
    ].join('\n'),
  },
  email_otp: {
    subject: 'Your {{product_name}} sign-in code: {{code}}',
    text: [
      'Hello,',
      '',
      'Your code to sign in to {{product_name}} is:',
      '',
      '{{code}}',
      '',
      'It expires in {{expires_minutes}} minutes. Never share it: {{product_name}} will not ask you for it.',
      'If you did not try to sign in, you can ignore this mail.',
    ].join('\n'),
    html: [
      '<p>Hello,</p>',
      '<p>Your code to sign in to {{product_name}} is:</p>',
      '<p style="font-size:1.5em;letter-spacing:0.2em"><strong>{{code}}</strong></p>',
      '<p>It expires in {{expires_minutes}} minutes. Never share it. If you did not try to sign in, you can ignore this mail.</p>',
    ].join('\n'),
  },
};

const VARIABLE = /\{\{\s*([a-z_]+)\s*\}\}/g;

export function escapeHTML(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Replaces every `{{name}}`, each value passed through `encode`; unknown names become ''. */
export function substitute(
  template: string,
  values: TemplateValues,
  encode: (value: string) => string,
): string {
  return template.replace(VARIABLE, (_, name: string) => {
    const value = (values as unknown as Record<string, string | undefined>)[name];
    return value === undefined ? '' : encode(value);
  });
}

/**
 * A mail from the tenant's override (field by field) or the default. Every value is HTML-escaped
 * in the HTML body. The subject and the text body are plain text, never interpreted as markup,
 * so values go in as they are there (an escaped `&amp;` would show as such); line breaks are
 * removed from the subject so no value can start a header.
 */
export function renderMail(
  settings: EmailContentSettings,
  kind: TemplateKind,
  values: TemplateValues,
  to: { tenantId: string; email: string },
): MailMessage {
  const override = settings.templates[kind] ?? {};
  const chosen = { ...DEFAULTS[kind], ...override };
  const subject = substitute(chosen.subject, values, (value) => value).replace(/[\r\n]+/g, ' ');
  return {
    tenantId: to.tenantId,
    to: to.email,
    subject,
    text: substitute(chosen.text, values, (value) => value),
    html: substitute(chosen.html, values, escapeHTML),
    kind: kind satisfies MailKind,
  };
}
