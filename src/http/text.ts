import { AppError } from '../errors.ts';

/**
 * The one rule for text that arrives from outside (JSON bodies, keys included, path segments,
 * query parameters, form fields): no C0 control character (U+0000–U+001F), no DEL (U+007F) and
 * no lone UTF-16 surrogate. No field of this API has a format that needs one (no multi-line
 * text), passwords included; Postgres refuses U+0000 in `text` and cannot store a lone surrogate.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Deeper JSON than this is refused: no request of this API nests past a handful of levels. */
export const MAX_JSON_DEPTH = 32;

export function hasForbiddenCharacters(text: string): boolean {
  return CONTROL.test(text) || LONE_SURROGATE.test(text);
}

/** Throws 400 invalid_characters when `text` breaks the rule; `where` names the place. */
export function assertCleanText(text: string, where: string): void {
  if (hasForbiddenCharacters(text)) {
    throw new AppError(
      'invalid_characters',
      `${where}: control characters and unpaired surrogates are not allowed`,
    );
  }
}

/**
 * Walks a parsed JSON value without recursion (a 64 KiB body nests ~32,000 levels) and applies
 * the text rule to every string and key; more than MAX_JSON_DEPTH levels is `invalid_request`.
 */
export function assertCleanJSON(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === 'string') {
      assertCleanText(current, 'body');
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= MAX_JSON_DEPTH) {
        throw new AppError('invalid_request', `body: nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
      if (Array.isArray(current)) {
        for (const item of current) stack.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(current)) {
          assertCleanText(key, 'body');
          stack.push([item, depth + 1]);
        }
      }
    }
  }
}

/**
 * Decodes every segment of a path and every name and value of a query string, applying the text
 * rule: an escape that does not decode to UTF-8 (`%`, `%ff`) is `invalid_request`.
 */
export function assertCleanURL(path: string, search: string): void {
  for (const segment of path.split('/')) assertCleanText(decodeOrRefuse(segment, 'path'), 'path');
  const query = search.startsWith('?') ? search.slice(1) : search;
  if (query === '') return;
  for (const pair of query.split('&')) {
    assertCleanText(decodeOrRefuse(pair.replace(/\+/g, ' '), 'query'), 'query');
  }
}

function decodeOrRefuse(text: string, where: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw new AppError('invalid_request', `${where}: a percent-escape does not decode`, {
      cause: error,
    });
  }
}

/** decodeURIComponent that gives back the raw text when it does not decode (refused later). */
export function decodeOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
