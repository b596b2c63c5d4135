import { createFetchHandler } from './app.ts';
import type { Env } from './env.ts';

const handleFetch = createFetchHandler();

export default {
  fetch: (request, env, ctx) => handleFetch(request, env, ctx),
  async scheduled(_controller, _env, _ctx) {
    // Scheduled jobs (backups, audit retention) register here.
  },
  async queue(batch, _env, _ctx) {
    // Queue consumers (scheduled backups) register here.
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, unknown>;
