import type { Sql } from '../../db/index.js';
import type { ScorerConfig } from './scorer-config.js';

export interface CaseRow {
  id: string;
  suiteId: string;
  name: string;
  description: string | null;
  input: unknown;
  expectedOutput: unknown;
  scorer: ScorerConfig;
  scoringRubric: unknown;
  passThreshold: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  version: number;
}

export interface CaseFields {
  name: string;
  description: string | null;
  input: unknown;
  expectedOutput: unknown;
  scorer: ScorerConfig;
  scoringRubric: unknown;
  passThreshold: number;
}

const COLUMNS = `id, suite_id AS "suiteId", name, description, input, expected_output AS "expectedOutput", scorer,
  scoring_rubric AS "scoringRubric", pass_threshold::float8 AS "passThreshold", created_at AS "createdAt",
  updated_at AS "updatedAt", deleted_at AS "deletedAt", version`;

// jsonb NULL and JSON null differ: an absent expected output or rubric is SQL NULL.
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export async function insertCase(sql: Sql, orgId: string, id: string, suiteId: string, f: CaseFields, at: Date): Promise<CaseRow> {
  const r = await sql.query<CaseRow>(
    `INSERT INTO eval_test_cases (id, org_id, suite_id, name, description, input, expected_output, scorer, scoring_rubric,
       pass_threshold, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9::jsonb, $10, $11, $11) RETURNING ${COLUMNS}`,
    [id, orgId, suiteId, f.name, f.description, JSON.stringify(f.input), json(f.expectedOutput), JSON.stringify(f.scorer),
      json(f.scoringRubric), f.passThreshold, at.toISOString()],
  );
  return r.rows[0]!;
}

/** A live case of the suite (or, with `withDeleted`, a deleted one too: a run started before the delete still runs it). */
export async function getCase(sql: Sql, orgId: string, suiteId: string, id: string, o: { lock?: boolean; withDeleted?: boolean } = {}): Promise<CaseRow | undefined> {
  const r = await sql.query<CaseRow>(
    `SELECT ${COLUMNS} FROM eval_test_cases WHERE org_id = $1 AND suite_id = $2 AND id = $3
       ${o.withDeleted ? '' : 'AND deleted_at IS NULL'}${o.lock ? ' FOR UPDATE' : ''}`,
    [orgId, suiteId, id],
  );
  return r.rows[0];
}

export async function listCases(
  sql: Sql, orgId: string, suiteId: string, f: { after?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<CaseRow[]> {
  const r = await sql.query<CaseRow>(
    `SELECT ${COLUMNS} FROM eval_test_cases
     WHERE org_id = $1 AND suite_id = $2 AND deleted_at IS NULL
       AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
     ORDER BY created_at, id LIMIT $5`,
    [orgId, suiteId, f.after?.createdAt ?? null, f.after?.id ?? null, f.limit],
  );
  return r.rows;
}

/** Ids of the suite's live cases in order (what a new run runs). */
export async function liveCaseIds(sql: Sql, orgId: string, suiteId: string): Promise<string[]> {
  const r = await sql.query<{ id: string }>(
    `SELECT id FROM eval_test_cases WHERE org_id = $1 AND suite_id = $2 AND deleted_at IS NULL ORDER BY created_at, id`,
    [orgId, suiteId],
  );
  return r.rows.map((x) => x.id);
}

export async function updateCase(sql: Sql, orgId: string, id: string, f: CaseFields, version: number, at: Date): Promise<CaseRow> {
  const r = await sql.query<CaseRow>(
    `UPDATE eval_test_cases SET name = $3, description = $4, input = $5::jsonb, expected_output = $6::jsonb, scorer = $7::jsonb,
       scoring_rubric = $8::jsonb, pass_threshold = $9, version = $10, updated_at = $11
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, f.name, f.description, JSON.stringify(f.input), json(f.expectedOutput), JSON.stringify(f.scorer),
      json(f.scoringRubric), f.passThreshold, version, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function softDeleteCase(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE eval_test_cases SET deleted_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, at.toISOString()]);
}
