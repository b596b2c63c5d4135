import type { Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';

/** `?limit=&offset=`: every admin list; the order is stable (creation time, then id). */
export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export type PageQuery = z.infer<typeof pageQuerySchema>;

/** The envelope of every admin list: one page of items and the total across pages. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  });
}

/** Parses the query string with `schema`; 400 invalid_request naming the first bad parameter. */
export function readQuery<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(c.req.query());
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'query' : issue.path.join('.');
  throw new AppError('invalid_request', `${where}: ${issue?.message ?? 'invalid'}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID names nothing: 404 before any query (and never a 500 from SQL). */
export function pathUUID(value: string, what: string): string {
  if (!UUID.test(value)) throw new AppError('not_found', `no such ${what}`);
  return value.toLowerCase();
}
