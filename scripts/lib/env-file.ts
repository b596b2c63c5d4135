// Reads operator settings for the Node CLIs: dotenv-style files (what `.dev.vars` and deploy
// checklists use) and the [vars] table of wrangler.toml. No dependency: both formats are used here
// only in their simple forms, and a parse error must never echo a value (it may be a secret).
import { readFileSync } from 'node:fs';

export type Settings = Record<string, string>;

export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `KEY=VALUE` lines: blank lines and `#` comments are skipped, an optional `export ` prefix
 * is allowed, values may be bare (an unquoted ` #` starts a comment), 'single-quoted' (literal) or
 * "double-quoted" (with \n, \t, \", \\ escapes). Errors name the line number, never its content.
 */
export function parseEnvFile(text: string, source = 'env file'): Settings {
  const settings: Settings = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const where = `${source}:${index + 1}`;
    const equals = trimmed.indexOf('=');
    if (equals === -1) throw new EnvFileError(`${where}: expected KEY=VALUE`);
    const key = trimmed
      .slice(0, equals)
      .replace(/^export\s+/, '')
      .trim();
    if (!KEY.test(key)) throw new EnvFileError(`${where}: not a valid setting name`);
    settings[key] = parseValue(trimmed.slice(equals + 1).trim(), where);
  });
  return settings;
}

function parseValue(raw: string, where: string): string {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    const end = closingQuote(raw, quote);
    if (end === -1) throw new EnvFileError(`${where}: unterminated ${quote} quote`);
    const rest = raw.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      throw new EnvFileError(`${where}: unexpected text after the closing quote`);
    }
    const inner = raw.slice(1, end);
    return quote === "'" ? inner : unescapeDouble(inner);
  }
  const comment = raw.search(/\s#/);
  return (comment === -1 ? raw : raw.slice(0, comment)).trim();
}

function closingQuote(raw: string, quote: string): number {
  for (let i = 1; i < raw.length; i++) {
    if (quote === '"' && raw[i] === '\\') i++;
    else if (raw[i] === quote) return i;
  }
  return -1;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

function unescapeDouble(inner: string): string {
  return inner.replace(/\\(.)/g, (whole, char: string) => ESCAPES[char] ?? whole);
}

export function readEnvFile(path: string): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EnvFileError(`cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return parseEnvFile(text, path);
}

/**
 * The string entries of the top-level `[vars]` table of a wrangler.toml: what the deployed Worker
 * receives as plain-text bindings. Handles `KEY = "basic"` and `KEY = 'literal'` lines; other value
 * types (numbers, booleans, tables) are not strings to the Worker's validation and are skipped.
 */
export function parseWranglerVars(text: string, source = 'wrangler.toml'): Settings {
  const vars: Settings = {};
  let inVars = false;
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (trimmed.startsWith('[')) {
      inVars = /^\[\s*vars\s*\]\s*(#.*)?$/.test(trimmed);
      return;
    }
    if (!inVars) return;
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(trimmed);
    if (match === null) throw new EnvFileError(`${source}:${index + 1}: expected KEY = VALUE`);
    const [, key, raw] = match as unknown as [string, string, string];
    if (raw.startsWith('"""') || raw.startsWith("'''")) {
      throw new EnvFileError(`${source}:${index + 1}: multi-line strings are not supported`);
    }
    if (raw.startsWith('"') || raw.startsWith("'")) {
      vars[key] = parseValue(raw, `${source}:${index + 1}`);
    }
  });
  return vars;
}

export function readWranglerVars(path: string): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new EnvFileError(`cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return parseWranglerVars(text, path);
}

/**
 * Names of the queue producer bindings a wrangler.toml declares (`binding = "…"` inside
 * `[[queues.producers]]`): the Worker's validation applies some checks only when one is bound.
 */
export function parseWranglerQueueBindings(text: string): string[] {
  const bindings: string[] = [];
  let inProducer = false;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) {
      inProducer = /^\[\[\s*queues\.producers\s*\]\]/.test(trimmed);
      continue;
    }
    const match = inProducer ? /^binding\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"/.exec(trimmed) : null;
    if (match !== null) bindings.push(match[1]!);
  }
  return bindings;
}
