import { rootKeysOf, type Config } from '../../env.ts';
import type { Database } from '../../db/client.ts';
import { parseMailbox } from './address.ts';
import type { MailMessage } from './message.ts';
import { loadTenantMail, openSMTPPassword, type TenantMail } from './repo.ts';
import { MailDeliveryError, type MailSender, type SMTPTarget } from './smtp.ts';

export interface DeliveryDeps {
  config: Config;
  db: Database;
  mailSender: MailSender;
}

/** Which server a tenant's mail goes through: its own (settings.mail.host) or SMTP_URL's. */
export type Route = 'tenant' | 'default';

/**
 * The tenant's own server when it names a host (its password opened from the sealed column),
 * else the deployment's SMTP_URL. From: the tenant's, else MAIL_FROM. Throws a permanent
 * MailDeliveryError when neither names a server or a sender.
 */
export async function resolveTarget(
  deps: Pick<DeliveryDeps, 'config'>,
  tenant: TenantMail | null,
): Promise<{ target: SMTPTarget; route: Route }> {
  const settings = tenant?.settings ?? {};
  const fromText = settings.from ?? null;
  const from = fromText === null ? deps.config.mail.from : parseMailbox(fromText);
  if (from === null) throw new MailDeliveryError(true, 'refused: no sender (MAIL_FROM) configured');
  const replyTo = settings.replyTo === undefined ? null : parseMailbox(settings.replyTo);
  if (tenant !== null && settings.host !== undefined) {
    const security = settings.tls ?? 'starttls';
    const password =
      tenant.passwordSealed === null
        ? null
        : await openSMTPPassword(rootKeysOf(deps.config), tenant.tenantId, tenant.passwordSealed);
    return {
      route: 'tenant',
      target: {
        host: settings.host,
        port: settings.port ?? (security === 'implicit' ? 465 : 587),
        security,
        username: settings.username ?? null,
        password,
        from,
        replyTo,
      },
    };
  }
  const smtp = deps.config.mail.smtp;
  if (smtp === null)
    throw new MailDeliveryError(true, 'refused: no SMTP server configured (SMTP_URL)');
  return { route: 'default', target: { ...smtp, from, replyTo } };
}

/** Sends one message now: one round trip for the tenant's settings, one SMTP connection. */
export async function deliver(
  deps: DeliveryDeps,
  message: MailMessage,
): Promise<{ answer: string; route: Route }> {
  const tenant = await loadTenantMail(deps.db, { id: message.tenantId });
  if (tenant === null) throw new MailDeliveryError(true, 'refused: the tenant no longer exists');
  const { target, route } = await resolveTarget(deps, tenant);
  const { answer } = await deps.mailSender.send(target, {
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
  });
  return { answer, route };
}
