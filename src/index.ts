import { createFetchHandler } from './app.ts';
import type { Env } from './env.ts';
import { runAuditMaintenance } from './features/audit/scheduled.ts';

const handleFetch = createFetchHandler();

export default {
  fetch: (request, env, ctx) => handleFetch(request, env, ctx),
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runAuditMaintenance(env, new Date(controller.scheduledTime)));
  },
  async queue(batch, _env, _ctx) {
    // Queue consumers (scheduled backups) register here.
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, unknown>;
