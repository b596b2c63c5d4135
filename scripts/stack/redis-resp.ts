// A minimal RESP2 client: just enough to forward REST commands to a local redis-server. One
// connection, pipelined: each batch is written in one piece, so a MULTI ... EXEC batch is never
// split by another request's commands, and replies come back in the order commands were sent.
import { connect, type Socket } from 'node:net';
import { ErrorReply, StatusReply, type Reply } from './redis-reply.ts';

export interface RespConnection {
  /** Sends the commands as one write and resolves with one reply per command. */
  send(commands: string[][]): Promise<Reply[]>;
  close(): Promise<void>;
}

interface Pending {
  expected: number;
  replies: Reply[];
  resolve(replies: Reply[]): void;
  reject(error: Error): void;
}

export async function connectResp(port: number, host = '127.0.0.1'): Promise<RespConnection> {
  let socket: Socket | null = null;
  let buffer: Buffer = Buffer.alloc(0);
  let pending: Pending[] = [];
  let closed = false;

  const fail = (error: Error): void => {
    const waiting = pending;
    pending = [];
    buffer = Buffer.alloc(0);
    socket = null;
    for (const entry of waiting) entry.reject(error);
  };

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const next = connect(port, host);
      next.setNoDelay(true);
      next.once('connect', () => {
        next.off('error', reject);
        next.on('error', (error) => fail(error));
        resolve(next);
      });
      next.once('error', reject);
      next.on('close', () => {
        if (socket === next) fail(new Error('connection to redis-server closed'));
      });
      next.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        let offset = 0;
        for (;;) {
          const entry = pending[0];
          if (entry === undefined) break;
          const parsed = parseReply(buffer, offset);
          if (parsed === undefined) break;
          entry.replies.push(parsed.reply);
          offset = parsed.next;
          if (entry.replies.length === entry.expected) {
            pending.shift();
            entry.resolve(entry.replies);
          }
        }
        buffer = buffer.subarray(offset);
      });
    });

  socket = await open();

  return {
    async send(commands) {
      if (closed) throw new Error('connection closed');
      // Reconnect lazily after a dropped connection; the commands in flight then have failed.
      socket ??= await open();
      const target = socket;
      return new Promise<Reply[]>((resolve, reject) => {
        pending.push({ expected: commands.length, replies: [], resolve, reject });
        target.write(Buffer.concat(commands.map(encodeCommand)));
      });
    },
    async close() {
      closed = true;
      const current = socket;
      socket = null;
      if (current === null) return;
      await new Promise<void>((resolve) => {
        current.once('close', () => resolve());
        current.end();
        setTimeout(() => current.destroy(), 1_000).unref();
      });
    },
  };
}

export function encodeCommand(args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseReply(
  buffer: Buffer,
  offset: number,
): { reply: Reply; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (buffer[offset]) {
    case 0x2b: // +
      return { reply: new StatusReply(line), next };
    case 0x2d: // -
      return { reply: new ErrorReply(line), next };
    case 0x3a: // :
      return { reply: Number(line), next };
    case 0x24: {
      // $
      const length = Number(line);
      if (length < 0) return { reply: null, next };
      if (buffer.length < next + length + 2) return undefined;
      // A copy: the read buffer is reused.
      return { reply: Buffer.from(buffer.subarray(next, next + length)), next: next + length + 2 };
    }
    case 0x2a: {
      // *
      const count = Number(line);
      if (count < 0) return { reply: null, next };
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i += 1) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: items, next: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${buffer[offset]}`);
  }
}
