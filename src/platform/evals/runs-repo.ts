import type { Sql } from '../../db/index.js';

export type EvalRunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type ResultStatus = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'cancelled';
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
export const FINAL_RESULT_STATUSES: ReadonlySet<string> = new Set(['passed', 'failed', 'error', 'cancelled']);

export interface EvalRunRow {
  id: string;
  suiteId: string;
  agentId: string;
  agentVersionId: string | null;
  /** the semver of agentVersionId */
  agentVersion: string | null;
  status: EvalRunStatus;
  concurrency: number;
  totalTests: number;
  passedTests: number;
  failedTests: number;
  errorTests: number;
  averageScore: number | null;
  passRate: number | null;
  costUsd: number;
  totalTokens: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  error: string | null;
  createdBy: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ResultRow {
  id: string;
  runId: string;
  testCaseId: string;
  caseName: string;
  executionId: string | null;
  status: ResultStatus;
  score: number | null;
  passThreshold: number;
  actualOutput: unknown;
  feedback: string | null;
  details: unknown;
  costUsd: number | null;
  totalTokens: number | null;
  latencyMs: number | null;
  jobId: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
}

const RUN_COLUMNS = `r.id, r.suite_id AS "suiteId", r.agent_id AS "agentId", r.agent_version_id AS "agentVersionId",
  (SELECT v.version FROM agent_versions v WHERE v.id = r.agent_version_id) AS "agentVersion",
  r.status, r.concurrency, r.total_tests AS "totalTests", r.passed_tests AS "passedTests", r.failed_tests AS "failedTests",
  r.error_tests AS "errorTests", r.average_score::float8 AS "averageScore", r.pass_rate::float8 AS "passRate",
  r.cost_usd::float8 AS "costUsd", r.total_tokens::float8 AS "totalTokens", r.latency_p50_ms AS "latencyP50Ms",
  r.latency_p95_ms AS "latencyP95Ms", r.error, r.created_by AS "createdBy", r.started_at AS "startedAt",
  r.completed_at AS "completedAt", r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;

const RESULT_COLUMNS = `x.id, x.run_id AS "runId", x.test_case_id AS "testCaseId", c.name AS "caseName", x.execution_id AS "executionId",
  x.status, x.score::float8 AS score, c.pass_threshold::float8 AS "passThreshold", x.actual_output AS "actualOutput",
  x.feedback, x.details, x.cost_usd::float8 AS "costUsd", x.total_tokens AS "totalTokens", x.latency_ms AS "latencyMs",
  x.job_id AS "jobId", x.started_at AS "startedAt", x.completed_at AS "completedAt", x.created_at AS "createdAt"`;

export async function insertRun(
  sql: Sql, orgId: string,
  r: { id: string; suiteId: string; agentId: string; agentVersionId: string; concurrency: number; total: number; userId: string | null; at: Date },
): Promise<void> {
  await sql.query(
    `INSERT INTO eval_runs (id, org_id, suite_id, agent_id, agent_version_id, status, concurrency, total_tests, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $9)`,
    [r.id, orgId, r.suiteId, r.agentId, r.agentVersionId, r.concurrency, r.total, r.userId, r.at.toISOString()],
  );
}

/** One pending result per case: the run's progress from its first moment. */
export async function insertPendingResults(sql: Sql, orgId: string, runId: string, rows: Array<{ id: string; caseId: string }>, at: Date): Promise<void> {
  await sql.query(
    `INSERT INTO eval_results (id, org_id, run_id, test_case_id, status, created_at)
     SELECT (e->>'id')::uuid, $1, $2, (e->>'caseId')::uuid, 'pending', $4 FROM jsonb_array_elements($3::jsonb) AS e`,
    [orgId, runId, JSON.stringify(rows), at.toISOString()],
  );
}

export async function getRun(sql: Sql, orgId: string, id: string, lock = false): Promise<EvalRunRow | undefined> {
  if (lock) await sql.query(`SELECT 1 FROM eval_runs WHERE org_id = $1 AND id = $2 FOR UPDATE`, [orgId, id]);
  const r = await sql.query<EvalRunRow>(`SELECT ${RUN_COLUMNS} FROM eval_runs r WHERE r.org_id = $1 AND r.id = $2`, [orgId, id]);
  return r.rows[0];
}

export async function listRuns(
  sql: Sql, orgId: string, f: { suiteId: string; status?: string | undefined; before?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<EvalRunRow[]> {
  const r = await sql.query<EvalRunRow>(
    `SELECT ${RUN_COLUMNS} FROM eval_runs r
     WHERE r.org_id = $1 AND r.suite_id = $2 AND ($3::text IS NULL OR r.status = $3)
       AND ($4::timestamptz IS NULL OR (r.created_at, r.id) < ($4::timestamptz, $5::uuid))
     ORDER BY r.created_at DESC, r.id DESC LIMIT $6`,
    [orgId, f.suiteId, f.status ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function markRunStarted(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(
    `UPDATE eval_runs SET status = 'running', started_at = coalesce(started_at, $3), updated_at = $3 WHERE org_id = $1 AND id = $2 AND status = 'pending'`,
    [orgId, id, at.toISOString()],
  );
}

/**
 * Writes the run's totals from its results and, when given, its final status.
 * Errors count as failures with score 0; the averages are over the cases that
 * finished (all of them, for a completed run).
 */
export async function writeTotals(sql: Sql, orgId: string, id: string, at: Date, finish?: { status: EvalRunStatus; error?: string | null }): Promise<void> {
  await sql.query(
    `WITH t AS (
       SELECT count(*) FILTER (WHERE status = 'passed') AS passed,
              count(*) FILTER (WHERE status = 'failed') AS failed,
              count(*) FILTER (WHERE status = 'error') AS errors,
              avg(score) FILTER (WHERE status IN ('passed', 'failed', 'error')) AS avg_score,
              coalesce(sum(cost_usd), 0) AS cost, coalesce(sum(total_tokens), 0) AS tokens,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL) AS p95
         FROM eval_results WHERE org_id = $1 AND run_id = $2)
     UPDATE eval_runs r SET passed_tests = t.passed, failed_tests = t.failed, error_tests = t.errors,
       average_score = round(t.avg_score, 4),
       pass_rate = CASE WHEN t.passed + t.failed + t.errors = 0 THEN NULL
                        ELSE round(t.passed::numeric / (t.passed + t.failed + t.errors), 4) END,
       cost_usd = t.cost, total_tokens = t.tokens, latency_p50_ms = round(t.p50), latency_p95_ms = round(t.p95),
       status = coalesce($4::varchar, r.status),
       completed_at = CASE WHEN $4::varchar IS NULL THEN r.completed_at ELSE $3::timestamptz END,
       error = CASE WHEN $4::varchar IS NULL THEN r.error ELSE $5::text END,
       updated_at = $3
     FROM t WHERE r.org_id = $1 AND r.id = $2`,
    [orgId, id, at.toISOString(), finish?.status ?? null, finish?.error ?? null],
  );
}

export async function resultsOfRun(sql: Sql, orgId: string, runId: string): Promise<ResultRow[]> {
  const r = await sql.query<ResultRow>(
    `SELECT ${RESULT_COLUMNS} FROM eval_results x JOIN eval_test_cases c ON c.org_id = x.org_id AND c.id = x.test_case_id
     WHERE x.org_id = $1 AND x.run_id = $2 ORDER BY c.created_at, c.id`,
    [orgId, runId],
  );
  return r.rows;
}

export async function resultCounts(sql: Sql, orgId: string, runId: string): Promise<Record<ResultStatus, number>> {
  const r = await sql.query<{ status: ResultStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM eval_results WHERE org_id = $1 AND run_id = $2 GROUP BY status`,
    [orgId, runId],
  );
  const out: Record<ResultStatus, number> = { pending: 0, running: 0, passed: 0, failed: 0, error: 0, cancelled: 0 };
  for (const x of r.rows) out[x.status] = x.n;
  return out;
}

/** The result this job started (a redelivery finds it again), whatever its status. */
export async function resultOfJob(sql: Sql, orgId: string, runId: string, jobId: string): Promise<ResultRow | undefined> {
  const r = await sql.query<ResultRow>(
    `SELECT ${RESULT_COLUMNS} FROM eval_results x JOIN eval_test_cases c ON c.org_id = x.org_id AND c.id = x.test_case_id
     WHERE x.org_id = $1 AND x.run_id = $2 AND x.job_id = $3`,
    [orgId, runId, jobId],
  );
  return r.rows[0];
}

/** Takes the run's next pending case for this job (the caller holds the run's lock). */
export async function claimNextResult(sql: Sql, orgId: string, runId: string, jobId: string, at: Date): Promise<{ id: string; testCaseId: string } | undefined> {
  const r = await sql.query<{ id: string; testCaseId: string }>(
    `UPDATE eval_results SET status = 'running', job_id = $3, started_at = $4
     WHERE id = (SELECT x.id FROM eval_results x JOIN eval_test_cases c ON c.org_id = x.org_id AND c.id = x.test_case_id
                 WHERE x.org_id = $1 AND x.run_id = $2 AND x.status = 'pending' ORDER BY c.created_at, c.id LIMIT 1)
     RETURNING id, test_case_id AS "testCaseId"`,
    [orgId, runId, jobId, at.toISOString()],
  );
  return r.rows[0];
}

export interface ResultOutcome {
  status: 'passed' | 'failed' | 'error';
  score: number;
  executionId: string | null;
  actualOutput: unknown;
  feedback: string;
  details: unknown;
  costUsd: number | null;
  totalTokens: number | null;
  latencyMs: number | null;
}

/** Records a case's outcome if the result is still this job's running case; false otherwise (cancelled meanwhile, or superseded). */
export async function recordResult(sql: Sql, orgId: string, id: string, jobId: string, o: ResultOutcome, at: Date): Promise<boolean> {
  const r = await sql.query(
    `UPDATE eval_results SET status = $4, score = round($5::numeric, 4), execution_id = $6, actual_output = $7::jsonb, feedback = $8,
       details = $9::jsonb, cost_usd = $10, total_tokens = $11, latency_ms = $12, completed_at = $13
     WHERE org_id = $1 AND id = $2 AND job_id = $3 AND status = 'running'`,
    [orgId, id, jobId, o.status, o.score, o.executionId, o.actualOutput === null || o.actualOutput === undefined ? null : JSON.stringify(o.actualOutput),
      o.feedback, o.details === undefined || o.details === null ? null : JSON.stringify(o.details), o.costUsd, o.totalTokens, o.latencyMs, at.toISOString()],
  );
  return r.rowCount > 0;
}

/** Cancels the run's cases that have not started. */
export async function cancelPendingResults(sql: Sql, orgId: string, runId: string, at: Date): Promise<number> {
  const r = await sql.query(
    `UPDATE eval_results SET status = 'cancelled', completed_at = $3 WHERE org_id = $1 AND run_id = $2 AND status = 'pending'`,
    [orgId, runId, at.toISOString()],
  );
  return r.rowCount;
}

/** A version's latest completed run of a suite (the gate's evidence). */
export async function latestCompletedRun(sql: Sql, orgId: string, suiteId: string, agentVersionId: string): Promise<EvalRunRow | undefined> {
  const r = await sql.query<EvalRunRow>(
    `SELECT ${RUN_COLUMNS} FROM eval_runs r
     WHERE r.org_id = $1 AND r.suite_id = $2 AND r.agent_version_id = $3 AND r.status = 'completed'
     ORDER BY r.completed_at DESC LIMIT 1`,
    [orgId, suiteId, agentVersionId],
  );
  return r.rows[0];
}
