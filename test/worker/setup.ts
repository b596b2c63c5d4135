import type * as Sockets from 'cloudflare:sockets';
import { vi } from 'vitest';
import { countedConnect, installConsoleCapture, installProductionLimits } from './limits.ts';

// Every TCP socket (SMTP through worker-mailer) is a subrequest, as on Cloudflare.
vi.mock('cloudflare:sockets', async (importOriginal) => {
  const sockets = await importOriginal<typeof Sockets>();
  return { ...sockets, connect: countedConnect(sockets.connect) };
});

installProductionLimits();
installConsoleCapture();
