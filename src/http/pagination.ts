import { z } from 'zod';
import { badRequest } from '../errors.js';

/** Seed 001: default page size 20, at most 100. Cursors are opaque base64url JSON. */
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe(`page size, 1..${MAX_LIMIT}`),
  cursor: z.string().max(500).optional().describe('nextCursor from the previous page'),
};

export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw badRequest('cursor is not valid; pass nextCursor from a previous page unchanged', { field: 'cursor' });
  }
}

/** Fetch limit + 1 rows; the extra one only says whether there is a next page. */
export function page<T>(rows: T[], limit: number, cursorOf: (last: T) => unknown): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  return { data, nextCursor: rows.length > limit ? encodeCursor(cursorOf(data.at(-1)!)) : null };
}
