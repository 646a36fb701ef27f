import type { Sql } from '../db/index.js';
import { vectorText, type Space } from './space.js';

/** Live memories of an agent whose vector is not (yet) in `space`, oldest id first. */
export async function memoriesOutsideSpace(sql: Sql, orgId: string, agentId: string, space: Space, limit: number): Promise<{ id: string; content: string }[]> {
  const r = await sql.query<{ id: string; content: string }>(
    `SELECT id, content FROM agent_memories
      WHERE org_id = $1 AND agent_id = $2 AND superseded_at IS NULL
        AND (embedding_model IS DISTINCT FROM $3 OR embedding_dims IS DISTINCT FROM $4)
      ORDER BY id LIMIT $5`,
    [orgId, agentId, space.model, space.dims, limit],
  );
  return r.rows;
}

/** Moves memories into `space` with their new vectors (the old vector is replaced, never kept beside). */
export async function setEmbeddings(sql: Sql, orgId: string, space: Space, rows: readonly { id: string; vector: readonly number[] }[]): Promise<number> {
  const r = await sql.query(
    `UPDATE agent_memories m SET embedding = x.v::vector, embedding_model = $2, embedding_dims = $3, updated_at = now()
       FROM jsonb_to_recordset($4::jsonb) AS x(id uuid, v text)
      WHERE m.org_id = $1 AND m.id = x.id AND m.superseded_at IS NULL`,
    [orgId, space.model, space.dims, JSON.stringify(rows.map((x) => ({ id: x.id, v: vectorText(x.vector) })))],
  );
  return r.rowCount;
}

export interface SpaceProgress {
  total: number;
  embedded: number;
  remaining: number;
}

/** How many of an agent's live memories are in `space`. */
export async function spaceProgress(sql: Sql, orgId: string, agentId: string, space: Space): Promise<SpaceProgress> {
  const r = await sql.query<{ total: number; embedded: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE embedding_model = $3 AND embedding_dims = $4)::int AS embedded
       FROM agent_memories WHERE org_id = $1 AND agent_id = $2 AND superseded_at IS NULL`,
    [orgId, agentId, space.model, space.dims],
  );
  const { total, embedded } = r.rows[0]!;
  return { total, embedded, remaining: total - embedded };
}
