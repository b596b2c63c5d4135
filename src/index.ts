import { createFetchHandler } from './app.ts';
import type { Env } from './env.ts';
import { runAuditMaintenance } from './features/audit/scheduled.ts';
import { BACKUP_CRON, enqueueBackups, handleBackupBatch } from './features/backup/scheduled.ts';

const handleFetch = createFetchHandler();

export default {
  fetch: (request, env, ctx) => handleFetch(request, env, ctx),
  async scheduled(controller, env, ctx) {
    // Each cron has its own invocation, and so its own subrequest budget: the backup tick only
    // enqueues (the every-minute tick at the same moment does the audit work).
    if (controller.cron === BACKUP_CRON)
      ctx.waitUntil(enqueueBackups(env, new Date(controller.scheduledTime)));
    else ctx.waitUntil(runAuditMaintenance(env, new Date(controller.scheduledTime)));
  },
  async queue(batch, env, _ctx) {
    await handleBackupBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
