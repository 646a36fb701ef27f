import type { Sql } from '../db/index.js';
import { sessionMatchKeys } from '../sessions/index.js';

/**
 * A list filtered by session names it by id or by the application's key; the
 * rows hold the session's id (or, ingested before sessions were one notion,
 * the key as sent), so the filter becomes the set of values that mean it.
 */
export async function withSessionKeys<F extends { sessionId?: string | undefined }>(
  sql: Sql,
  orgId: string,
  f: F,
): Promise<Omit<F, 'sessionId'> & { sessionIds?: string[] | undefined }> {
  const { sessionId, ...rest } = f;
  if (sessionId === undefined) return rest;
  return { ...rest, sessionIds: await sessionMatchKeys(sql, orgId, sessionId) };
}
