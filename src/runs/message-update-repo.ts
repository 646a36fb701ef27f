import type { Sql } from '../db/index.js';
import type { MessageStatus } from './status.js';

/** Columns an ingested message update may set, with their SQL types. An allow-list: the names are written into SQL. */
export const MESSAGE_UPDATE_COLUMNS = {
  status: 'text',
  delivered_at: 'timestamptz',
  received_at: 'timestamptz',
  processed_at: 'timestamptz',
  response_data: 'jsonb',
  response_time_ms: 'int',
  error_message: 'text',
  retry_count: 'int',
} as const;
export type MessageUpdateColumn = keyof typeof MESSAGE_UPDATE_COLUMNS;

const SET_LIST = (Object.entries(MESSAGE_UPDATE_COLUMNS) as [MessageUpdateColumn, string][])
  .map(([col, type]) => `${col} = CASE WHEN p.patch ? '${col}' THEN ${type === 'jsonb' ? `p.patch->'${col}'` : `(p.patch->>'${col}')::${type}`} ELSE m.${col} END`)
  .join(',\n       ');

/** Locks the stored messages an update batch touches, in id order; returns their status. */
export async function lockMessages(sql: Sql, ids: string[]): Promise<Map<string, MessageStatus>> {
  if (!ids.length) return new Map();
  const r = await sql.query<{ id: string; status: MessageStatus }>(
    `SELECT id, status FROM agent_communications WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid) ORDER BY id FOR UPDATE`,
    [JSON.stringify(ids)],
  );
  return new Map(r.rows.map((x) => [x.id, x.status]));
}

/** Applies each patch in one statement; returns the ids whose row changed (the self-join reads the row as it was). */
export async function updateMessages(sql: Sql, rows: { id: string; patch: Partial<Record<MessageUpdateColumn, unknown>> }[]): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const r = await sql.query<{ id: string; changed: boolean }>(
    `UPDATE agent_communications m SET
       ${SET_LIST}
     FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, patch jsonb)
     JOIN agent_communications o ON o.id = p.id
     WHERE m.id = p.id
     RETURNING m.id, to_jsonb(m) IS DISTINCT FROM to_jsonb(o) AS changed`,
    [JSON.stringify(rows)],
  );
  return new Set(r.rows.filter((x) => x.changed).map((x) => x.id));
}
