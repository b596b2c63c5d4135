// CPU time of processes from /proc (Linux): utime + stime of /proc/<pid>/stat, in clock ticks.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second (USER_HZ); 100 on every Linux of this kind, asked of getconf anyway. */
export const CLOCK_TICKS: number = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, in ticks. */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm is in parentheses and may contain spaces: the fields after it start past the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // Fields after comm, 0-based: state 0, ppid 1, ..., utime 11, stime 12 (proc(5): 14 and 15).
  return {
    pid,
    ppid: Number(fields[1]),
    comm,
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null) stats.push(stat);
  }
  return stats;
}

/** The processes below `root` (not itself), whatever their depth. */
export function descendants(root: number): ProcStat[] {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const list = children.get(stat.ppid) ?? [];
    list.push(stat);
    children.set(stat.ppid, list);
  }
  const out: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

export interface ProcessGroups {
  /** The workerd that runs the Worker (miniflare's; it does not listen on the public port). */
  workerd: number[];
  /**
   * wrangler's local proxy in front of it: wrangler's Node process and the proxy's own workerd
   * (the one listening on the public port).
   */
  proxy: number[];
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is field 9.
      if (fields.length < 10 || fields[3] !== '0A') continue;
      if (parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

function listensOn(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return inodes.has(target.replace(/^socket:\[(\d+)\]$/, '$1'));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Finds the Worker's workerd and wrangler's proxy among the dev stack's processes. */
export function findProcesses(devPid: number, publicPort: number): ProcessGroups {
  const below = descendants(devPid);
  const inodes = listeningInodes(publicPort);
  const workerds = below.filter((stat) => stat.comm === 'workerd');
  const proxyWorkerds = workerds.filter((stat) => listensOn(stat.pid, inodes));
  const wrangler = below.filter((stat) => {
    if (stat.comm === 'workerd') return false;
    try {
      return readFileSync(`/proc/${stat.pid}/cmdline`, 'utf8').includes('wrangler');
    } catch {
      return false;
    }
  });
  return {
    workerd: workerds.filter((stat) => !proxyWorkerds.includes(stat)).map((stat) => stat.pid),
    proxy: [...wrangler, ...proxyWorkerds].map((stat) => stat.pid),
  };
}

/** Summed CPU milliseconds of these processes now. */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return (ticks * 1000) / CLOCK_TICKS;
}
