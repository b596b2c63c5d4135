/** What a mail is for: logged and audited in place of its content, which may carry a token. */
export type MailKind =
  | 'email_verification'
  | 'password_reset'
  | 'password_changed'
  | 'email_otp'
  | 'email_changed'
  | 'test';

/** One mail, as the request that causes it hands it over; delivery is the mail feature's job. */
export interface MailMessage {
  /** The tenant whose SMTP settings (or, without them, the deployment default) send it. */
  tenantId: string;
  /** One recipient address. */
  to: string;
  subject: string;
  text: string;
  html: string;
  kind: MailKind;
}

/** The seam requests use to send mail: hands the message to delivery without waiting on SMTP. */
export interface Mailer {
  /** One subrequest (a queue send). Throws AppError when delivery cannot accept the message. */
  enqueue(message: MailMessage): Promise<void>;
}
