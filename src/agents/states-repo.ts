import type { Sql } from '../db/index.js';

export interface StateRow {
  id: string;
  agentId: string;
  checkpointType: string;
  stateData: Record<string, unknown>;
  restoredFromId: string | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface NewState {
  id: string;
  checkpointType: string;
  stateData: Record<string, unknown>;
  restoredFromId: string | null;
  createdAt: Date;
}

const COLUMNS = `id, agent_id AS "agentId", checkpoint_type AS "checkpointType", state_data AS "stateData",
  restored_from_id AS "restoredFromId", created_by AS "createdBy", created_at AS "createdAt"`;

export async function insertState(sql: Sql, orgId: string, agentId: string, createdBy: string | null, s: NewState): Promise<StateRow> {
  const r = await sql.query<StateRow>(
    `INSERT INTO agent_states (id, org_id, agent_id, state_data, checkpoint_type, restored_from_id, created_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [s.id, orgId, agentId, JSON.stringify(s.stateData), s.checkpointType, s.restoredFromId, createdBy, s.createdAt.toISOString()],
  );
  return r.rows[0]!;
}

export async function getState(sql: Sql, agentId: string, id: string): Promise<StateRow | undefined> {
  const r = await sql.query<StateRow>(`SELECT ${COLUMNS} FROM agent_states WHERE agent_id = $1 AND id = $2`, [agentId, id]);
  return r.rows[0];
}

/** Newest first; the keyset reads the cursor row's own (created_at, id), so it is exact. */
export async function listStates(sql: Sql, agentId: string, opts: { beforeId?: string; limit: number }): Promise<StateRow[]> {
  const params: unknown[] = [agentId, opts.limit];
  let keyset = '';
  if (opts.beforeId) {
    params.push(opts.beforeId);
    keyset = `AND (created_at, id) < (SELECT created_at, id FROM agent_states WHERE id = $3 LIMIT 1)`;
  }
  const r = await sql.query<StateRow>(
    `SELECT ${COLUMNS} FROM agent_states WHERE agent_id = $1 ${keyset} ORDER BY created_at DESC, id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}
