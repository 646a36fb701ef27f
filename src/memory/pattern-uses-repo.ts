import { uuidv7, type Sql } from '../db/index.js';

/**
 * One recorded use of a pattern (pattern_usage, weekly partitions), with its
 * timing when it had one. A timed use also has a pattern_metrics row (monthly
 * partitions) with the same id and the same instant, so a use and its timing
 * are joined on (id, time) without a column that links them.
 */
export interface PatternUseRow {
  id: string;
  patternId: string;
  agentId: string | null;
  executionId: string | null;
  success: boolean;
  context: Record<string, unknown>;
  executionTimeMs: number | null;
  errorType: string | null;
  usedAt: Date;
}

export interface NewPatternUse {
  agentId: string | null;
  executionId: string | null;
  success: boolean;
  context: Record<string, unknown>;
  /** with agentId, makes the pattern_metrics row */
  executionTimeMs: number | null;
  errorType: string | null;
}

/** usedAt is written at millisecond precision, so a (usedAt, id) cursor read back from JSON is exact. */
export async function insertUse(sql: Sql, orgId: string, patternId: string, u: NewPatternUse, at: Date): Promise<PatternUseRow> {
  const id = uuidv7();
  const usedAt = at.toISOString();
  await sql.query(
    `INSERT INTO pattern_usage (id, org_id, pattern_id, agent_id, execution_id, success, context, used_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`,
    [id, orgId, patternId, u.agentId, u.executionId, u.success, JSON.stringify(u.context), usedAt],
  );
  const timed = u.agentId !== null && u.executionTimeMs !== null;
  if (timed) {
    await sql.query(
      `INSERT INTO pattern_metrics (id, org_id, pattern_id, agent_id, execution_time_ms, success, error_type, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, orgId, patternId, u.agentId, u.executionTimeMs, u.success, u.errorType, usedAt],
    );
  }
  return {
    id,
    patternId,
    agentId: u.agentId,
    executionId: u.executionId,
    success: u.success,
    context: u.context,
    executionTimeMs: timed ? u.executionTimeMs : null,
    errorType: timed ? u.errorType : null,
    usedAt: new Date(usedAt),
  };
}

export interface UseFilter {
  agentId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** keyset: rows strictly older than this (usedAt, id) */
  before?: { usedAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first, along idx_pattern_usage_pattern; from/to prune the weekly partitions. */
export async function listUses(sql: Sql, orgId: string, patternId: string, f: UseFilter): Promise<PatternUseRow[]> {
  const r = await sql.query<PatternUseRow>(
    `SELECT u.id, u.pattern_id AS "patternId", u.agent_id AS "agentId", u.execution_id AS "executionId", u.success, u.context,
       m.execution_time_ms AS "executionTimeMs", m.error_type AS "errorType", u.used_at AS "usedAt"
     FROM pattern_usage u
     LEFT JOIN pattern_metrics m ON m.org_id = u.org_id AND m.id = u.id AND m.created_at = u.used_at
     WHERE u.org_id = $1 AND u.pattern_id = $2
       AND ($3::uuid IS NULL OR u.agent_id = $3)
       AND ($4::timestamptz IS NULL OR u.used_at >= $4)
       AND ($5::timestamptz IS NULL OR u.used_at < $5)
       AND ($6::timestamptz IS NULL OR (u.used_at, u.id) < ($6::timestamptz, $7::uuid))
     ORDER BY u.used_at DESC, u.id DESC LIMIT $8`,
    [orgId, patternId, f.agentId ?? null, f.from ?? null, f.to ?? null, f.before?.usedAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export interface DailyMetrics {
  /** the UTC day, YYYY-MM-DD */
  day: string;
  uses: number;
  successes: number;
  successRate: number;
  avgExecutionTimeMs: number;
  p95ExecutionTimeMs: number;
}

/**
 * Timed uses per UTC day in [from, to), oldest day first; days without any are
 * left out. Times to a hundredth of a millisecond: float interpolation would
 * otherwise answer 87.99999999999999 for 88.
 */
export async function dailyMetrics(sql: Sql, orgId: string, patternId: string, from: string, to: string): Promise<DailyMetrics[]> {
  const r = await sql.query<DailyMetrics>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS uses,
       count(*) FILTER (WHERE success)::int AS successes,
       (count(*) FILTER (WHERE success))::float8 / count(*) AS "successRate",
       round(avg(execution_time_ms), 2)::float8 AS "avgExecutionTimeMs",
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time_ms)::numeric, 2)::float8 AS "p95ExecutionTimeMs"
     FROM pattern_metrics
     WHERE org_id = $1 AND pattern_id = $2 AND created_at >= $3 AND created_at < $4
     GROUP BY 1 ORDER BY 1`,
    [orgId, patternId, from, to],
  );
  return r.rows;
}
