import type { Sql } from '../db/index.js';

/**
 * The outbox's SQL. It reads the webhooks table (which the platform module's
 * webhooks area writes) for the one thing an emitter needs to know: which
 * enabled endpoints of the organization subscribe to these types.
 */

export interface Subscriber {
  id: string;
  events: string[];
}

/** The org's enabled endpoints whose subscription holds any of `patterns` (idx_webhooks_enabled: the org's few enabled rows). */
export async function subscribers(sql: Sql, orgId: string, patterns: readonly string[]): Promise<Subscriber[]> {
  const r = await sql.query<Subscriber>(
    `SELECT id, events FROM webhooks
     WHERE org_id = $1 AND is_active AND deleted_at IS NULL AND events && $2::text[]`,
    [orgId, patterns],
  );
  return r.rows;
}

export interface NewEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Every event of a batch in one statement (the rows travel as one JSON parameter). */
export async function insertEvents(sql: Sql, orgId: string, rows: readonly NewEvent[]): Promise<void> {
  if (!rows.length) return;
  await sql.query(
    `INSERT INTO webhook_events (id, org_id, event_type, data, created_at)
     SELECT x.id, $1, x.type, x.data, x."createdAt"
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, type text, data jsonb, "createdAt" timestamptz)`,
    [orgId, JSON.stringify(rows)],
  );
}

/** Claims a once-only key; false when it was claimed before. */
export async function claimKey(sql: Sql, orgId: string, key: string): Promise<boolean> {
  const r = await sql.query(
    `INSERT INTO webhook_event_keys (org_id, dedupe_key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
    [orgId, key],
  );
  return r.rows.length > 0;
}
