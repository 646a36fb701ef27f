import { uuidv7, type Sql } from '../db/index.js';

/** A finding an agent made (seed 001 agent_learnings), as the API shows it. */
export interface LearningRow {
  id: string;
  agentId: string;
  sourceType: string;
  sourceId: string | null;
  learningCategory: string;
  finding: string;
  evidence: unknown;
  confidence: number;
  impactScore: number | null;
  appliedCount: number;
  successCount: number;
  /** successCount / appliedCount; null until the learning is first applied */
  successRate: number | null;
  lastAppliedAt: Date | null;
  tags: string[];
  createdAt: Date;
}

export interface NewLearning {
  sourceType: string;
  sourceId: string | null;
  learningCategory: string;
  finding: string;
  evidence: unknown;
  confidence: number;
  impactScore: number | null;
  tags: readonly string[];
}

const COLUMNS = `id, agent_id AS "agentId", source_type AS "sourceType", source_id AS "sourceId",
  learning_category AS "learningCategory", finding, evidence, confidence, impact_score AS "impactScore",
  applied_count AS "appliedCount", success_count AS "successCount", success_rate AS "successRate",
  last_applied_at AS "lastAppliedAt", tags, created_at AS "createdAt"`;

/** createdAt is written at millisecond precision, so a (createdAt, id) cursor read back from JSON is exact. */
export async function insertLearning(sql: Sql, orgId: string, agentId: string, f: NewLearning, at: Date): Promise<LearningRow> {
  const r = await sql.query<LearningRow>(
    `INSERT INTO agent_learnings (id, org_id, agent_id, source_type, source_id, learning_category, finding, evidence,
       confidence, impact_score, tags, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::text[], $12) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, agentId, f.sourceType, f.sourceId, f.learningCategory, f.finding, JSON.stringify(f.evidence),
      f.confidence, f.impactScore, f.tags, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getLearning(sql: Sql, orgId: string, agentId: string, id: string): Promise<LearningRow | undefined> {
  const r = await sql.query<LearningRow>(
    `SELECT ${COLUMNS} FROM agent_learnings WHERE org_id = $1 AND agent_id = $2 AND id = $3`,
    [orgId, agentId, id],
  );
  return r.rows[0];
}

export interface LearningFilter {
  category?: string | undefined;
  tag?: string | undefined;
  minConfidence?: number | undefined;
  /** keyset: rows strictly older than this (createdAt, id) */
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first, along idx_agent_learnings_agent. */
export async function listLearnings(sql: Sql, orgId: string, agentId: string, f: LearningFilter): Promise<LearningRow[]> {
  // minConfidence is compared as real, the column's type: as float8, a stored 0.9 would fall below 0.9.
  const r = await sql.query<LearningRow>(
    `SELECT ${COLUMNS} FROM agent_learnings
     WHERE org_id = $1 AND agent_id = $2
       AND ($3::text IS NULL OR learning_category = $3)
       AND ($4::text IS NULL OR tags @> ARRAY[$4::text])
       AND ($5::real IS NULL OR confidence >= $5::real)
       AND ($6::timestamptz IS NULL OR (created_at, id) < ($6::timestamptz, $7::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $8`,
    [orgId, agentId, f.category ?? null, f.tag ?? null, f.minConfidence ?? null, f.before?.createdAt ?? null,
      f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function deleteLearning(sql: Sql, orgId: string, agentId: string, id: string): Promise<LearningRow | undefined> {
  const r = await sql.query<LearningRow>(
    `DELETE FROM agent_learnings WHERE org_id = $1 AND agent_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
    [orgId, agentId, id],
  );
  return r.rows[0];
}

/**
 * Records one application in a single UPDATE: the right-hand sides read the
 * row as the row lock found it, so concurrent recordings queue on the lock and
 * each adds its one (PostgreSQL re-reads the row after a wait), and the rate
 * is computed from the very counts it is stored with.
 */
export async function recordApplication(
  sql: Sql,
  orgId: string,
  agentId: string,
  id: string,
  success: boolean,
  at: Date,
): Promise<LearningRow | undefined> {
  const r = await sql.query<LearningRow>(
    `UPDATE agent_learnings
     SET applied_count = applied_count + 1,
         success_count = success_count + $4::int,
         success_rate = ((success_count + $4::int)::float8 / (applied_count + 1))::real,
         last_applied_at = $5
     WHERE org_id = $1 AND agent_id = $2 AND id = $3
     RETURNING ${COLUMNS}`,
    [orgId, agentId, id, success ? 1 : 0, at.toISOString()],
  );
  return r.rows[0];
}
