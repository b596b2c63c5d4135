// An in-process Redis for machines without redis-server: the keyspace (redis-keyspace.ts) plus
// Lua scripts (redis-lua.ts). It covers the commands @upstash/redis and @upstash/ratelimit send
// and their scripts call; anything else answers "unknown command". Each command runs to
// completion synchronously, so scripts and MULTI/EXEC are atomic for free.
import { createKeyspace, type CommandTable } from './redis-keyspace.ts';
import { createLuaRuntime } from './redis-lua.ts';
import { CommandError, parseInteger } from './redis-parse.ts';
import {
  ErrorReply,
  OK,
  StatusReply,
  sha1Hex,
  type RedisBackend,
  type Reply,
} from './redis-reply.ts';

export interface EmulatorOptions {
  /** Epoch ms; tests may move time. */
  now?: () => number;
}

export function createEmulatedBackend(options: EmulatorOptions = {}): RedisBackend {
  const now = options.now ?? Date.now;
  const keyspace = createKeyspace(now);
  const scripts = new Map<string, string>();
  const lua = createLuaRuntime((args) => execute(args, true));

  const evaluate = (sha: string, script: string, rest: string[]): Reply => {
    const count = parseInteger(rest[0]!);
    if (count < 0) throw new CommandError("ERR Number of keys can't be negative");
    if (count > rest.length - 1)
      throw new CommandError("ERR Number of keys can't be greater than number of args");
    return lua.run(sha, script, rest.slice(1, 1 + count), rest.slice(1 + count));
  };

  const commands: CommandTable = {
    ...keyspace.commands,
    ping: [-1, (a) => (a.length > 1 ? a[1]! : new StatusReply('PONG'))],
    echo: [2, (a) => a[1]!],
    flushall: [-1, () => (keyspace.clear(), OK)],
    flushdb: [-1, () => (keyspace.clear(), OK)],
    eval: [
      -3,
      (a) => {
        const sha = sha1Hex(a[1]!);
        scripts.set(sha, a[1]!);
        return evaluate(sha, a[1]!, a.slice(2));
      },
    ],
    evalsha: [
      -3,
      (a) => {
        const sha = a[1]!.toLowerCase();
        const script = scripts.get(sha);
        if (script === undefined)
          throw new CommandError('NOSCRIPT No matching script. Please use EVAL.');
        return evaluate(sha, script, a.slice(2));
      },
    ],
    eval_ro: [-3, (a) => commands.eval![1](a)],
    evalsha_ro: [-3, (a) => commands.evalsha![1](a)],
    script: [
      -2,
      (a) => {
        const sub = a[1]!.toLowerCase();
        if (sub === 'load' && a.length === 3) {
          const sha = sha1Hex(a[2]!);
          scripts.set(sha, a[2]!);
          return sha;
        }
        if (sub === 'exists')
          return a.slice(2).map((sha) => (scripts.has(sha.toLowerCase()) ? 1 : 0));
        if (sub === 'flush') {
          scripts.clear();
          lua.flush();
          return OK;
        }
        throw new CommandError(`ERR unknown subcommand '${a[1]!}'. Try SCRIPT HELP.`);
      },
    ],
  };

  const NOT_FROM_SCRIPTS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'script']);

  /** The command's problem before it runs (unknown, wrong arity), as MULTI would report it. */
  function check(args: string[], fromScript: boolean): ErrorReply | null {
    const name = (args[0] ?? '').toLowerCase();
    const spec = commands[name];
    if (spec === undefined) {
      const head = args
        .slice(1, 3)
        .map((arg) => `'${arg.slice(0, 64)}'`)
        .join(' ');
      return new ErrorReply(
        `ERR unknown command '${args[0] ?? ''}', with args beginning with: ${head}`,
      );
    }
    if (fromScript && NOT_FROM_SCRIPTS.has(name))
      return new ErrorReply('ERR This Redis command is not allowed from script');
    const [arity] = spec;
    if (arity > 0 ? args.length !== arity : args.length < -arity) {
      return new ErrorReply(`ERR wrong number of arguments for '${name}' command`);
    }
    return null;
  }

  function execute(args: string[], fromScript = false): Reply {
    const problem = check(args, fromScript);
    if (problem !== null) return problem;
    try {
      return commands[args[0]!.toLowerCase()]![1](args);
    } catch (error) {
      if (error instanceof CommandError) return new ErrorReply(error.message);
      return new ErrorReply(`ERR ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return {
    kind: 'emulated',
    async run(batch) {
      return batch.map((args) => execute(args));
    },
    async transaction(batch) {
      for (const args of batch) {
        const problem = check(args, false);
        if (problem !== null) return problem;
      }
      return batch.map((args) => execute(args));
    },
    async close() {
      keyspace.clear();
    },
  };
}
