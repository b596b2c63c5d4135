import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from '../errors.ts';
import { assertCleanJSON } from './text.ts';

/** Request bodies past this are refused before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a JSON body and validates it. Only `application/json` is accepted: the form and text
 * types a cross-site page may send without a preflight are refused (415), which closes CSRF's
 * simple-request path. An empty body counts as `{}` so optional-body endpoints work from curl.
 * Every string and key must pass the text rule (`assertCleanJSON`) before the schema sees it.
 */
export async function readJSON<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const text = await readBodyText(c);
  const contentType = c.req.header('Content-Type');
  if (text === '' && contentType === undefined) return parse(schema, {});
  if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new AppError('unsupported_media_type', 'send the body as application/json');
  }
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new AppError('invalid_json', 'the body is not valid JSON');
  }
  assertCleanJSON(value);
  return parse(schema, value);
}

export async function readBodyText(c: Context): Promise<string> {
  const declared = Number(c.req.header('Content-Length') ?? '0');
  if (declared > MAX_BODY_BYTES)
    throw new AppError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const body = c.req.raw.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new AppError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(joined);
  } catch {
    throw new AppError('invalid_json', 'the body is not UTF-8');
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
  throw new AppError('invalid_request', `${where}: ${issue?.message ?? 'invalid'}`);
}
