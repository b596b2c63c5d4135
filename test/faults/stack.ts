// Node side of the fault suite: its own PostgreSQL and redis-server (never the shared ones the
// other test files use), and a control endpoint the tests inside workerd call to pause (SIGSTOP),
// resume (SIGCONT), kill (SIGKILL) and restart them.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { startPostgres, type PostgresServer } from '../../scripts/stack/postgres.ts';
import type { RedisServer } from '../../scripts/stack/redis.ts';

export type Fault = 'pause' | 'resume' | 'kill' | 'start';

/**
 * A process and its direct children. PostgreSQL's backends call setsid() (miscinit.c,
 * InitPostmasterChild), so they are not in the postmaster's process group: signalling the group
 * would leave the connections the Neon endpoint already holds answering. The postmaster is
 * signalled first, so it forks no new backend meanwhile.
 */
export function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return [pid, ...children];
}

function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const target of processTree(pid)) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface FaultControl {
  url: string;
  close(): Promise<void>;
}

/**
 * POST /postgres/{pause,resume,kill,start} and /redis/{pause,resume,kill}. PostgreSQL restarts on
 * its data directory and port, so the Neon endpoint's pool reconnects to the same address.
 */
export async function startFaultControl(input: {
  postgres: PostgresServer;
  dataDir: string;
  redis: RedisServer;
}): Promise<FaultControl & { postgres(): PostgresServer }> {
  let postgres = input.postgres;
  let postgresDown = false;
  const act = async (target: string, fault: string): Promise<void> => {
    if (target === 'postgres') {
      const pid = postgres.pid;
      if (pid === undefined) throw new Error('no PostgreSQL process');
      if (fault === 'pause') return signalTree(pid, 'SIGSTOP');
      if (fault === 'resume') return signalTree(pid, 'SIGCONT');
      if (fault === 'kill') {
        const tree = processTree(pid);
        signalTree(pid, 'SIGKILL');
        for (const child of tree) await waitUntilGone(child);
        postgresDown = true;
        return;
      }
      if (fault === 'start') {
        if (!postgresDown) return;
        postgres = await startPostgres({
          dataDir: input.dataDir,
          port: postgres.port,
          durable: true,
        });
        postgresDown = false;
        return;
      }
    }
    if (target === 'redis') {
      const pid = input.redis.pid;
      if (pid === undefined) throw new Error('no redis-server process');
      if (fault === 'pause') return signalTree(pid, 'SIGSTOP');
      if (fault === 'resume') return signalTree(pid, 'SIGCONT');
      if (fault === 'kill') {
        signalTree(pid, 'SIGKILL');
        return waitUntilGone(pid);
      }
    }
    throw new Error(`unknown fault ${target}/${fault}`);
  };
  const server: Server = createServer((request, response) => {
    const [, target = '', fault = ''] = (request.url ?? '').split('/');
    act(target, fault).then(
      () => response.writeHead(204).end(),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    postgres: () => postgres,
    async close() {
      // Whatever a test left behind: nothing stays stopped.
      for (const pid of [postgres.pid, input.redis.pid])
        if (pid !== undefined) signalTree(pid, 'SIGCONT');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!postgresDown) await postgres.stop();
      rmSync(input.dataDir, { recursive: true, force: true });
    },
  };
}
