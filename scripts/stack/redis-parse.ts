// Argument parsing for the Redis emulation, with Redis's own error texts.

/** Thrown inside an emulated command: becomes that command's error reply. */
export class CommandError extends Error {}

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

export function parseInteger(
  text: string,
  message = 'ERR value is not an integer or out of range',
): number {
  const value = Number(text);
  if (!INTEGER.test(text) || !Number.isSafeInteger(value)) throw new CommandError(message);
  return value;
}

export interface SetOptions {
  ttlMs: number | null;
  nx: boolean;
  xx: boolean;
  keepTTL: boolean;
  get: boolean;
}

/** SET's options: EX/PX/EXAT/PXAT, NX/XX, KEEPTTL, GET. */
export function parseSetOptions(args: string[], now = Date.now()): SetOptions {
  const options: SetOptions = { ttlMs: null, nx: false, xx: false, keepTTL: false, get: false };
  let expirySet = false;
  for (let i = 0; i < args.length; i += 1) {
    const option = args[i]!.toLowerCase();
    if (option === 'nx' || option === 'xx' || option === 'get') options[option] = true;
    else if (option === 'keepttl') options.keepTTL = true;
    else if (
      ['ex', 'px', 'exat', 'pxat'].includes(option) &&
      !expirySet &&
      args[i + 1] !== undefined
    ) {
      const amount = parseInteger(args[(i += 1)]!);
      if (amount <= 0) throw new CommandError("ERR invalid expire time in 'set' command");
      const ms = option === 'ex' || option === 'exat' ? amount * 1000 : amount;
      options.ttlMs = option.endsWith('at') ? ms - now : ms;
      expirySet = true;
    } else throw new CommandError('ERR syntax error');
  }
  if ((options.nx && options.xx) || (options.keepTTL && expirySet)) {
    throw new CommandError('ERR syntax error');
  }
  return options;
}

export interface ScoreBound {
  test(score: number, side: 'min' | 'max'): boolean;
}

/** A ZRANGEBYSCORE-style bound: a number, `(number` (exclusive), `-inf`, `+inf`. */
export function parseBound(text: string): ScoreBound {
  const exclusive = text.startsWith('(');
  const body = exclusive ? text.slice(1) : text;
  const lowered = body.toLowerCase();
  const value =
    lowered === '-inf'
      ? -Infinity
      : lowered === '+inf' || lowered === 'inf'
        ? Infinity
        : Number(body);
  if (body === '' || Number.isNaN(value)) throw new CommandError('ERR min or max is not a float');
  return {
    test: (score, side) =>
      side === 'min'
        ? exclusive
          ? score > value
          : score >= value
        : exclusive
          ? score < value
          : score <= value,
  };
}

/** Scores as Redis prints them. */
export function formatScore(score: number): string {
  if (score === Infinity) return 'inf';
  if (score === -Infinity) return '-inf';
  return String(score);
}

/** Redis glob patterns (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) as an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '\\' && i + 1 < pattern.length) source += escape(pattern[(i += 1)]!);
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else source += escape(char);
  }
  return new RegExp(`^${source}$`, 's');
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
