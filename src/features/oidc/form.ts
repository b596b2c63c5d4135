import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { readBodyText } from '../../http/json.ts';
import { assertCleanText } from '../../http/text.ts';

/** Request parameters by name, each present at most once. */
export type Params = Map<string, string>;

/**
 * Parses `application/x-www-form-urlencoded` or a query string. A parameter sent twice is
 * refused (RFC 6749 §3.1, §3.2): which copy a reader would pick is exactly the ambiguity an
 * attacker uses. Empty values count as absent (RFC 6749 §3.1).
 */
export function parseParams(text: string): Params {
  const params: Params = new Map();
  for (const [name, value] of new URLSearchParams(text)) {
    assertCleanText(name, 'parameter');
    assertCleanText(value, name);
    if (params.has(name)) throw new AppError('invalid_request', `${name}: sent more than once`);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** The form body of a POST; OAuth endpoints take nothing else (RFC 6749 §3.2, RFC 7662 §2.1). */
export async function readForm(c: Context<AppEnv>): Promise<Params> {
  const contentType = c.req.header('Content-Type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new AppError('invalid_request', 'send the body as application/x-www-form-urlencoded');
  }
  return parseParams(await readBodyText(c));
}

/** A parameter's value, capped in length so nothing unbounded reaches a statement or a URL. */
export function param(params: Params, name: string, maxLength = 512): string | undefined {
  const value = params.get(name);
  if (value !== undefined && value.length > maxLength) {
    throw new AppError('invalid_request', `${name}: longer than ${maxLength} characters`);
  }
  return value;
}
