import { createFetchHandler } from './app.ts';
import type { Env } from './env.ts';
import { runAuditMaintenance } from './features/audit/scheduled.ts';
import { BACKUP_CRON, enqueueBackups, handleBackupBatch } from './features/backup/scheduled.ts';
import { runSecretRotation } from './features/secrets/scheduled.ts';
import {
  MAIL_DEAD_LETTER_QUEUE_NAME,
  MAIL_QUEUE_NAME,
  handleDeadMailBatch,
  handleMailBatch,
} from './features/mail/queue.ts';

const handleFetch = createFetchHandler();

export default {
  fetch: (request, env, ctx) => handleFetch(request, env, ctx),
  async scheduled(controller, env, ctx) {
    // Each cron has its own invocation, and so its own subrequest budget: the backup tick only
    // enqueues (the every-minute tick at the same moment does the audit work).
    if (controller.cron === BACKUP_CRON)
      ctx.waitUntil(enqueueBackups(env, new Date(controller.scheduledTime)));
    else {
      ctx.waitUntil(runAuditMaintenance(env, new Date(controller.scheduledTime)));
      // Only while SECRET_KEY_PREVIOUS is set; its budget is what the audit jobs leave.
      ctx.waitUntil(runSecretRotation(env));
    }
  },
  async queue(batch, env, ctx) {
    if (batch.queue === MAIL_QUEUE_NAME) await handleMailBatch(batch, env, ctx);
    else if (batch.queue === MAIL_DEAD_LETTER_QUEUE_NAME)
      await handleDeadMailBatch(batch, env, ctx);
    else await handleBackupBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
