import type { Sql } from '../db/index.js';

export interface CapabilityRow {
  id: string;
  agentId: string;
  capability: string;
  proficiency: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, agent_id AS "agentId", capability, proficiency_level::float8 AS proficiency,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function getCapability(sql: Sql, agentId: string, capability: string): Promise<CapabilityRow | undefined> {
  const r = await sql.query<CapabilityRow>(
    `SELECT ${COLUMNS} FROM agent_capabilities WHERE agent_id = $1 AND capability = $2`,
    [agentId, capability],
  );
  return r.rows[0];
}

export async function upsertCapability(
  sql: Sql,
  orgId: string,
  agentId: string,
  capability: string,
  proficiency: number,
): Promise<CapabilityRow> {
  const r = await sql.query<CapabilityRow>(
    `INSERT INTO agent_capabilities (org_id, agent_id, capability, proficiency_level) VALUES ($1, $2, $3, $4)
     ON CONFLICT (agent_id, capability) DO UPDATE SET proficiency_level = EXCLUDED.proficiency_level
     RETURNING ${COLUMNS}`,
    [orgId, agentId, capability, proficiency],
  );
  return r.rows[0]!;
}

/** In capability order; the name is unique per agent, so it is an exact keyset. */
export async function listCapabilities(
  sql: Sql,
  agentId: string,
  opts: { after?: string; limit: number },
): Promise<CapabilityRow[]> {
  const r = await sql.query<CapabilityRow>(
    `SELECT ${COLUMNS} FROM agent_capabilities WHERE agent_id = $1 AND ($2::text IS NULL OR capability > $2)
     ORDER BY capability LIMIT $3`,
    [agentId, opts.after ?? null, opts.limit],
  );
  return r.rows;
}

export async function deleteCapability(sql: Sql, agentId: string, capability: string): Promise<boolean> {
  const r = await sql.query(`DELETE FROM agent_capabilities WHERE agent_id = $1 AND capability = $2`, [agentId, capability]);
  return r.rowCount > 0;
}
