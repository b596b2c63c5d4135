// Redis replies as both Upstash endpoint backends (a real redis-server, the in-process emulation)
// produce them, before the REST layer turns them into JSON.
import { createHash } from 'node:crypto';

/** A RESP simple string (`+OK`): distinct from a bulk string only in how Upstash encodes it. */
export class StatusReply {
  readonly status: string;
  constructor(status: string) {
    this.status = status;
  }
}

/** A RESP error (`-ERR ...`), carried as a value: in a pipeline it is one command's answer. */
export class ErrorReply {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Bulk strings are `string` (emulation) or raw bytes (real Redis); nil is `null`. */
export type Reply = string | Uint8Array | number | null | StatusReply | ErrorReply | Reply[];

export const OK = new StatusReply('OK');

export interface RedisBackend {
  readonly kind: 'redis' | 'emulated';
  /** Runs commands in order, one reply each (a pipeline: other clients may interleave). */
  run(commands: string[][]): Promise<Reply[]>;
  /** Runs commands as one MULTI/EXEC; an ErrorReply when the transaction was refused as a whole. */
  transaction(commands: string[][]): Promise<Reply[] | ErrorReply>;
  close(): Promise<void>;
}

/** A script's SHA1 as Redis and the clients compute it: over the exact text sent. */
export function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/**
 * Scripts from @upstash/ratelimit 2.x begin with `#!lua flags=allow-key-locking`, a flag Upstash
 * accepts and stock Redis 7 refuses ("Unexpected flag in script shebang"). The line is blanked
 * rather than removed so line numbers in error messages still match the original.
 */
export function stripShebang(script: string): string {
  if (!script.startsWith('#!')) return script;
  const end = script.indexOf('\n');
  return end === -1 ? '' : script.slice(end);
}
