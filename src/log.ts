import type { LogLevel } from './env.ts';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are credentials: dropped from every line whatever the caller passes. */
const SECRET_FIELD = /pass(word)?|secret|token|cookie|authorization|api[-_]?key|^code$|credential/i;

/** One JSON object per line on the console, which Workers Logs and `wrangler tail` collect. */
export function createLogger(level: LogLevel, base: LogFields = {}): Logger {
  const write = (lineLevel: LogLevel, message: string, fields: LogFields = {}): void => {
    if (ORDER[lineLevel] < ORDER[level]) return;
    const line = JSON.stringify({
      level: lineLevel,
      message,
      time: new Date().toISOString(),
      ...redact(base),
      ...redact(fields),
    });
    if (lineLevel === 'error') console.error(line);
    else if (lineLevel === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_FIELD.test(key)) continue;
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? redact(value as LogFields)
        : value;
  }
  return out;
}

/**
 * An error's shape for a log line: its name, code and message with quoted literals removed (driver
 * messages quote the offending input, which may be a credential). No stack in production.
 */
export function describeError(error: unknown, withStack: boolean): LogFields {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    errorName: error.name,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    errorMessage: scrubLiterals(error.message),
    ...(withStack && error.stack !== undefined ? { stack: scrubLiterals(error.stack) } : {}),
    ...(error.cause !== undefined ? { cause: describeError(error.cause, false) } : {}),
  };
}

function scrubLiterals(text: string): string {
  return text
    .replace(/params: [\s\S]*$/, 'params: …')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\$\d+/g, '$?')
    .slice(0, 500);
}
