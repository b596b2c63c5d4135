import type * as Sockets from 'cloudflare:sockets';
import { vi } from 'vitest';
import { countedConnect, installConsoleCapture, installProductionLimits } from './limits.ts';

// Every TCP socket (SMTP through worker-mailer) is a subrequest, as on Cloudflare.
vi.mock('cloudflare:sockets', async (importOriginal) => {
  const sockets = await importOriginal<typeof Sockets>();
  return { ...sockets, connect: countedConnect(sockets.connect) };
});

// src/features/mail/smtp.ts imports worker-mailer on first use (Node, which shares src/deps.ts,
// has no cloudflare:sockets). In production wrangler's bundle inlines it; here the pool would
// load it on demand, and loading a module from inside a queue consumer invocation fails
// ("Cannot perform I/O on behalf of a different Durable Object"): load it up front.
await import('worker-mailer');
installProductionLimits();
installConsoleCapture();
