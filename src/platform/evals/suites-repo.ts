import type { Sql } from '../../db/index.js';

export type GateMode = 'required' | 'if_run' | 'off';
export type GateMetric = 'pass_rate' | 'average_score';

export interface SuiteRow {
  id: string;
  agentId: string | null;
  name: string;
  description: string | null;
  gate: GateMode;
  gateMetric: GateMetric;
  passThreshold: number;
  config: Record<string, unknown>;
  /** live cases */
  caseCount: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface SuiteFields {
  agentId: string;
  name: string;
  description: string | null;
  gate: GateMode;
  gateMetric: GateMetric;
  passThreshold: number;
  config: Record<string, unknown>;
}

const COLUMNS = `s.id, s.agent_id AS "agentId", s.name, s.description, s.gate, s.gate_metric AS "gateMetric",
  s.pass_threshold::float8 AS "passThreshold", s.config,
  (SELECT count(*)::int FROM eval_test_cases c WHERE c.org_id = s.org_id AND c.suite_id = s.id AND c.deleted_at IS NULL) AS "caseCount",
  s.created_by AS "createdBy", s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.version`;

export async function insertSuite(sql: Sql, orgId: string, id: string, f: SuiteFields, userId: string | null, at: Date): Promise<SuiteRow> {
  await sql.query(
    `INSERT INTO eval_suites (id, org_id, agent_id, name, description, gate, gate_metric, pass_threshold, config, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $11)`,
    [id, orgId, f.agentId, f.name, f.description, f.gate, f.gateMetric, f.passThreshold, JSON.stringify(f.config), userId, at.toISOString()],
  );
  return (await getSuite(sql, orgId, id))!;
}

export async function getSuite(sql: Sql, orgId: string, id: string, lock = false): Promise<SuiteRow | undefined> {
  const r = await sql.query<SuiteRow>(
    `SELECT ${COLUMNS} FROM eval_suites s WHERE s.org_id = $1 AND s.id = $2 AND s.deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function listSuites(
  sql: Sql, orgId: string, f: { agentId?: string | undefined; before?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<SuiteRow[]> {
  const r = await sql.query<SuiteRow>(
    `SELECT ${COLUMNS} FROM eval_suites s
     WHERE s.org_id = $1 AND s.deleted_at IS NULL AND ($2::uuid IS NULL OR s.agent_id = $2)
       AND ($3::timestamptz IS NULL OR (s.created_at, s.id) < ($3::timestamptz, $4::uuid))
     ORDER BY s.created_at DESC, s.id DESC LIMIT $5`,
    [orgId, f.agentId ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

/** The live suites of an agent that can gate a promotion (gate not off), oldest first. */
export async function gatingSuites(sql: Sql, orgId: string, agentId: string): Promise<SuiteRow[]> {
  const r = await sql.query<SuiteRow>(
    `SELECT ${COLUMNS} FROM eval_suites s WHERE s.org_id = $1 AND s.agent_id = $2 AND s.deleted_at IS NULL AND s.gate <> 'off'
     ORDER BY s.created_at, s.id`,
    [orgId, agentId],
  );
  return r.rows;
}

export async function updateSuite(sql: Sql, orgId: string, id: string, f: SuiteFields, version: number, at: Date): Promise<SuiteRow> {
  await sql.query(
    `UPDATE eval_suites SET agent_id = $3, name = $4, description = $5, gate = $6, gate_metric = $7, pass_threshold = $8,
       config = $9::jsonb, version = $10, updated_at = $11
     WHERE org_id = $1 AND id = $2`,
    [orgId, id, f.agentId, f.name, f.description, f.gate, f.gateMetric, f.passThreshold, JSON.stringify(f.config), version, at.toISOString()],
  );
  return (await getSuite(sql, orgId, id))!;
}

export async function softDeleteSuite(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE eval_suites SET deleted_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, at.toISOString()]);
}
