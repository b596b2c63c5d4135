// Admin API: send a test message through the tenant's mail route now (not through the queue), so
// an operator sees the SMTP server's own answer.
import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { adminActor, adminEvent } from '../admin/audit.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { SLUG } from '../tenants/context.ts';
import { isSafeAddress, recipientDomain } from './address.ts';
import { resolveTarget } from './delivery.ts';
import { loadTenantMail } from './repo.ts';
import { MailDeliveryError } from './smtp.ts';

export const testMailRequestSchema = z.strictObject({
  to: z.string().max(254).refine(isSafeAddress, 'must be a plain email address'),
});

export const testMailResponseSchema = z.object({
  /** Whether the server accepted the message (2xx after DATA). */
  delivered: z.boolean(),
  /** `tenant`: the tenant's own server (settings.mail); `default`: SMTP_URL. */
  route: z.enum(['tenant', 'default']).nullable(),
  /** Its answer (or our refusal), recipient addresses blanked. */
  smtp_answer: z.string(),
  /** On failure: true for a 5xx answer or a refusal (retrying will not help). */
  permanent: z.boolean().nullable(),
});

export const mailRoutes = new Hono<AdminEnv>();

/** Round trips: 2 (the tenant's mail settings; the audit event). One SMTP connection. */
mailRoutes.post('/tenants/:slug/mail/test', requireScope('tenants:write'), async (c) => {
  const slug = c.req.param('slug');
  if (!SLUG.test(slug)) throw new AppError('unknown_tenant', 'no such tenant');
  const input = await readJSON(c, testMailRequestSchema);
  const { deps } = c.var;
  const by = adminActor(c);
  const tenant = await loadTenantMail(deps.db, { slug });
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  let outcome: z.infer<typeof testMailResponseSchema>;
  let route: 'tenant' | 'default' | null = null;
  try {
    const resolved = await resolveTarget(deps, tenant);
    route = resolved.route;
    const target = resolved.target;
    const { answer } = await deps.mailSender.send(target, {
      to: input.to,
      subject: 'Gatehouse test message',
      text: `This is a test message from Gatehouse for tenant ${tenant.slug}. No action is needed.`,
      html: `<p>This is a test message from Gatehouse for tenant <b>${tenant.slug}</b>. No action is needed.</p>`,
    });
    outcome = { delivered: true, route, smtp_answer: answer, permanent: null };
  } catch (error) {
    if (!(error instanceof MailDeliveryError)) throw error;
    outcome = {
      delivered: false,
      route,
      smtp_answer: error.answer,
      permanent: error.permanent,
    };
  }
  await recordAuditEvent(
    deps.db,
    adminEvent(
      by,
      'admin.mail.test_sent',
      tenant.tenantId,
      { type: 'tenant', id: tenant.tenantId },
      {
        delivered: outcome.delivered,
        route: outcome.route,
        recipientDomain: recipientDomain(input.to),
      },
    ),
  );
  return c.json(outcome);
});
