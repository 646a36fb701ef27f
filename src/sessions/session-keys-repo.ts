import { uuidv7, type Sql } from '../db/index.js';

/**
 * How telemetry names a conversation session. An ingested item's sessionId is
 * either a session's id or the application's own key for the conversation
 * (the session's token, unique per organization). A key seen for the first
 * time creates the session (origin 'ingest'), so the runtime's sessions and
 * ingested telemetry share one notion: one row per conversation, whichever
 * side saw it first.
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Found { key: string; id: string }

/** Sessions named by these keys: by id first (a key that is a session's id), then by token. */
async function findSessions(sql: Sql, orgId: string, keys: string[]): Promise<Map<string, string>> {
  const ids = keys.filter((k) => UUID_RE.test(k)).map((k) => k.toLowerCase());
  const r = await sql.query<Found & { byId: boolean }>(
    `SELECT s.id::text AS key, s.id, true AS "byId" FROM user_sessions s
     WHERE s.org_id = $1 AND s.id = ANY($2::uuid[])
     UNION ALL
     SELECT s.session_token, s.id, false FROM user_sessions s
     WHERE s.org_id = $1 AND s.session_token = ANY($3::text[])`,
    [orgId, ids, keys],
  );
  const out = new Map<string, string>();
  const byId = new Map(r.rows.filter((x) => x.byId).map((x) => [x.key, x.id]));
  const byToken = new Map(r.rows.filter((x) => !x.byId).map((x) => [x.key, x.id]));
  for (const k of keys) {
    const id = (UUID_RE.test(k) ? byId.get(k.toLowerCase()) : undefined) ?? byToken.get(k);
    if (id) out.set(k, id);
  }
  return out;
}

/**
 * Maps each key to its session's id, creating the sessions of keys never seen
 * before. One query when every key is known (the steady state), two or three
 * on first sight. Concurrent batches creating the same key meet on the unique
 * token: the loser's insert does nothing and it reads the winner's row.
 */
export async function resolveSessionKeys(sql: Sql, orgId: string, keys: string[]): Promise<Map<string, string>> {
  const distinct = [...new Set(keys)];
  if (!distinct.length) return new Map();
  const out = await findSessions(sql, orgId, distinct);
  const missing = distinct.filter((k) => !out.has(k));
  if (!missing.length) return out;
  const created = await sql.query<{ key: string; id: string }>(
    `INSERT INTO user_sessions (id, org_id, session_token, origin)
     SELECT (k->>'id')::uuid, $1, k->>'key', 'ingest' FROM jsonb_array_elements($2::jsonb) AS k
     ON CONFLICT (org_id, session_token) DO NOTHING
     RETURNING session_token AS key, id`,
    [orgId, JSON.stringify(missing.map((key) => ({ key, id: uuidv7() })))],
  );
  for (const x of created.rows) out.set(x.key, x.id);
  const raced = missing.filter((k) => !out.has(k));
  if (raced.length) for (const [k, id] of await findSessions(sql, orgId, raced)) out.set(k, id);
  return out;
}

export interface SessionIdentity { id: string; sessionToken: string }

/** The session a reader names by id or by token, or undefined. */
export async function findSession(sql: Sql, orgId: string, ref: string): Promise<SessionIdentity | undefined> {
  const r = await sql.query<SessionIdentity>(
    `SELECT id, session_token AS "sessionToken" FROM user_sessions
     WHERE org_id = $1 AND (id = $2::uuid OR session_token = $3)
     ORDER BY (id = $2::uuid) DESC LIMIT 1`,
    [orgId, UUID_RE.test(ref) ? ref.toLowerCase() : null, ref],
  );
  return r.rows[0];
}

/**
 * What a stored row's session_id may hold for this session: its id, and its
 * token (rows ingested before sessions were one notion kept the key they were
 * sent with). A reference to no session matches rows holding it verbatim.
 */
export async function sessionMatchKeys(sql: Sql, orgId: string, ref: string): Promise<string[]> {
  const s = await findSession(sql, orgId, ref);
  return s ? matchKeysOf(s) : [ref];
}

/** What a stored row's session_id may hold for a session found: its id, and its token. */
export function matchKeysOf(s: SessionIdentity): string[] {
  return [...new Set([s.id, s.sessionToken])];
}
