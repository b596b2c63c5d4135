import type { Deps } from '../../deps.ts';
import type { Tenant } from '../tenants/context.ts';
import { queueMail } from './send.ts';
import { renderMail } from './templates.ts';
import { mailLink, type IssuedToken } from './tokens.ts';

function productName(tenant: Tenant): string {
  return tenant.settings.mail.product_name ?? tenant.name;
}

function minutesLeft(issued: IssuedToken): string {
  return String(Math.round((issued.expiresAt.getTime() - issued.now.getTime()) / 60_000));
}

/** Queues the mail that carries a verify or reset link (the token in its fragment). */
export function queueTokenMail(deps: Deps, tenant: Tenant, to: string, issued: IssuedToken): void {
  const kind = issued.purpose === 'verify_email' ? 'email_verification' : 'password_reset';
  queueMail(
    deps,
    renderMail(
      tenant.settings.mail,
      kind,
      {
        product_name: productName(tenant),
        email: to,
        link: mailLink(deps.config, tenant, issued.purpose, issued.token),
        expires_minutes: minutesLeft(issued),
      },
      { tenantId: tenant.id, email: to },
    ),
  );
}

/** "Your password was changed": after a reset, so a victim of a takeover hears of it. */
export function queuePasswordChangedMail(deps: Deps, tenant: Tenant, to: string): void {
  queueMail(
    deps,
    renderMail(
      tenant.settings.mail,
      'password_changed',
      { product_name: productName(tenant), email: to },
      { tenantId: tenant.id, email: to },
    ),
  );
}

/** The sign-in code mail. */
export function queueOTPMail(
  deps: Deps,
  tenant: Tenant,
  to: string,
  code: string,
  ttlSeconds: number,
): void {
  queueMail(
    deps,
    renderMail(
      tenant.settings.mail,
      'email_otp',
      {
        product_name: productName(tenant),
        email: to,
        code,
        expires_minutes: String(Math.round(ttlSeconds / 60)),
      },
      { tenantId: tenant.id, email: to },
    ),
  );
}
