// The V8 CPU profile of the Worker under one family's load, through wrangler dev's inspector
// (the Chrome DevTools protocol): `npm run bench -- --profile=<family>` writes a .cpuprofile
// (open it in Chrome DevTools or speedscope) and prints where the self time went.
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CPUProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** The profile, and per script the module each line belongs to (esbuild's `// path` markers). */
export interface ProfileCapture {
  profile: CPUProfile;
  moduleOf(scriptId: string, lineNumber: number): string | null;
}

/** Ports the processes listen on (from /proc/net/tcp and their socket fds). */
function listeningPorts(pids: number[]): number[] {
  const byInode = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue;
      byInode.set(fields[9]!, parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  const ports = new Set<number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const port = inode === undefined ? undefined : byInode.get(inode);
        if (port !== undefined) ports.add(port);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return [...ports];
}

/** wrangler dev's inspector: the listening port of its processes that answers /json/list. */
export async function findInspector(pids: number[]): Promise<string> {
  for (const port of listeningPorts(pids)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/json/list`, {
        signal: AbortSignal.timeout(1_000),
      });
      const targets = (await response.json()) as { webSocketDebuggerUrl?: string }[];
      const url = targets.find((target) => target.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
      if (url !== undefined) return url;
    } catch {
      // not the inspector
    }
  }
  throw new Error("no inspector found among wrangler dev's ports");
}

/** Starts the profiler; the returned function stops it and gives the profile. */
export async function startProfiling(
  debuggerURL: string,
  samplingIntervalUs = 200,
): Promise<() => Promise<ProfileCapture>> {
  const socket = new WebSocket(debuggerURL);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await send('Profiler.start');
  return async () => {
    const { profile } = (await send('Profiler.stop')) as { profile: CPUProfile };
    // The dev bundle is one script: esbuild starts each module's code with a `// <path>` line.
    await send('Debugger.enable');
    const markers = new Map<string, { line: number; path: string }[]>();
    for (const scriptId of new Set(profile.nodes.map((node) => node.callFrame.scriptId))) {
      if (scriptId === '0' || scriptId === '') continue;
      const result = (await send('Debugger.getScriptSource', { scriptId })) as {
        scriptSource?: string;
      };
      const list: { line: number; path: string }[] = [];
      (result.scriptSource ?? '').split('\n').forEach((text, line) => {
        const marker = /^\/\/ (\S*?(?:node_modules|src)\/\S+\.[cm]?[jt]s)$/.exec(text);
        if (marker !== null) list.push({ line, path: marker[1]!.replace(/^(\.\.\/)+/, '') });
      });
      markers.set(scriptId, list);
    }
    socket.close();
    return {
      profile,
      moduleOf(scriptId, lineNumber) {
        let found: string | null = null;
        for (const marker of markers.get(scriptId) ?? []) {
          if (marker.line > lineNumber) break;
          found = marker.path;
        }
        return found;
      },
    };
  };
}

/** Self time per function and per source (package or src/ file), largest first. */
export function summarize(capture: ProfileCapture, top = 25): string {
  const { profile } = capture;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++)
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    total += us;
    const module = capture.moduleOf(frame.scriptId, frame.lineNumber);
    const source = sourceOf(module ?? frame.url, frame.functionName);
    const file = module ?? frame.url;
    const name = `${frame.functionName || '(anonymous)'} ${file.replace(/^.*node_modules\//, '')}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    bySource.set(source, (bySource.get(source) ?? 0) + us);
  }
  const lines = [
    `busy ${(total / 1000).toFixed(0)} ms (idle excluded)`,
    '',
    'self time by source:',
  ];
  const share = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  for (const [source, us] of [...bySource].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${share(us)}  ${source}`);
  lines.push('', 'self time by function:');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${share(us)}  ${name}`);
  return lines.join('\n');
}

function sourceOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  const src = /\/(src\/.*)$/.exec(url);
  return src !== null ? src[1]! : url;
}
