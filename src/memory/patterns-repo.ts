import { uuidv7, type Sql } from '../db/index.js';

/** The six cognitive patterns (seed 003), also the values of agents.cognitive_pattern. */
export const PATTERN_TYPES = ['convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

export interface PatternRow {
  id: string;
  type: PatternType;
  name: string;
  patternData: Record<string, unknown>;
  /** successCount / usageCount rounded to two decimals; null until first used */
  accuracy: number | null;
  usageCount: number;
  successCount: number;
  metadata: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PatternFields {
  name: string;
  patternData: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const COLUMNS = `id, type, name, pattern_data AS "patternData", accuracy::float8 AS accuracy, usage_count AS "usageCount",
  success_count AS "successCount", metadata, version, created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function insertPattern(sql: Sql, orgId: string, type: PatternType, f: PatternFields, at: Date): Promise<PatternRow> {
  const r = await sql.query<PatternRow>(
    `INSERT INTO patterns (id, org_id, type, name, pattern_data, metadata, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $7) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, type, f.name, JSON.stringify(f.patternData), JSON.stringify(f.metadata), at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getPattern(sql: Sql, orgId: string, id: string, lock = false): Promise<PatternRow | undefined> {
  const r = await sql.query<PatternRow>(
    `SELECT ${COLUMNS} FROM patterns WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

/** The live pattern holding a name, if any (names are unique per organization among live patterns). */
export async function patternNameOwner(sql: Sql, orgId: string, name: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM patterns WHERE org_id = $1 AND name = $2 AND deleted_at IS NULL`, [orgId, name]);
  return r.rows[0]?.id;
}

/**
 * Sort orders by name, each a key expression and its cursor value's SQL type:
 * the only text from a request that shapes the ORDER BY is the name, looked
 * up here. A null accuracy (never used) sorts after every used pattern.
 */
export const PATTERN_SORTS = {
  created: { key: 'created_at', type: 'timestamptz' },
  accuracy: { key: 'coalesce(accuracy, -1)', type: 'numeric' },
  usage: { key: 'usage_count', type: 'integer' },
} as const;
export type PatternSort = keyof typeof PATTERN_SORTS;

export interface PatternFilter {
  type?: PatternType | undefined;
  sort: PatternSort;
  /** keyset: rows after this (sort key, id) in the sort's descending order */
  after?: { key: string | number; id: string } | undefined;
  limit: number;
}

/** The value of the sort key a row carries, for its cursor (as the SQL compares it). */
export function sortKeyOf(row: PatternRow, sort: PatternSort): string | number {
  if (sort === 'created') return new Date(row.createdAt).toISOString();
  if (sort === 'accuracy') return row.accuracy ?? -1;
  return row.usageCount;
}

/** Highest sort key first, ties newest id first. */
export async function listPatterns(sql: Sql, orgId: string, f: PatternFilter): Promise<PatternRow[]> {
  const s = PATTERN_SORTS[f.sort];
  const r = await sql.query<PatternRow>(
    `SELECT ${COLUMNS} FROM patterns
     WHERE org_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR type = $2)
       AND ($3::text IS NULL OR (${s.key}, id) < ($3::${s.type}, $4::uuid))
     ORDER BY ${s.key} DESC, id DESC LIMIT $5`,
    [orgId, f.type ?? null, f.after === undefined ? null : String(f.after.key), f.after?.id ?? null, f.limit],
  );
  return r.rows;
}

/**
 * Optimistic update of the definition: undefined when no live row has this id
 * and version. There is no versioning trigger on patterns, so the bump is here.
 */
export async function updatePattern(
  sql: Sql,
  orgId: string,
  id: string,
  version: number,
  patch: Partial<PatternFields>,
  at: Date,
): Promise<PatternRow | undefined> {
  const r = await sql.query<PatternRow>(
    `UPDATE patterns SET name = coalesce($4, name), pattern_data = coalesce($5::jsonb, pattern_data),
       metadata = coalesce($6::jsonb, metadata), version = version + 1, updated_at = $7
     WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [orgId, id, version, patch.name ?? null, json(patch.patternData), json(patch.metadata), at.toISOString()],
  );
  return r.rows[0];
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export async function softDeletePattern(sql: Sql, orgId: string, id: string, at: Date): Promise<PatternRow | undefined> {
  const r = await sql.query<PatternRow>(
    `UPDATE patterns SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [orgId, id, at.toISOString()],
  );
  return r.rows[0];
}

/**
 * Counts one use in a single UPDATE, so concurrent uses queue on the row lock
 * and none is lost; accuracy is computed from the counts it is stored with.
 * A use is not an edit of the definition: version and updated_at stay, so
 * recording uses never makes an editor's PATCH stale.
 */
export async function countUse(sql: Sql, orgId: string, id: string, success: boolean): Promise<PatternRow | undefined> {
  const r = await sql.query<PatternRow>(
    `UPDATE patterns
     SET usage_count = usage_count + 1,
         success_count = success_count + $3::int,
         accuracy = round((success_count + $3::int)::numeric / (usage_count + 1), 2)
     WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [orgId, id, success ? 1 : 0],
  );
  return r.rows[0];
}

/**
 * The default pattern of a cognitive pattern type: the organization's live
 * pattern of that type with the highest accuracy, then the most used, then the
 * oldest (idx_patterns_type finds the candidates).
 */
export async function defaultPattern(sql: Sql, orgId: string, type: string): Promise<PatternRow | undefined> {
  const r = await sql.query<PatternRow>(
    `SELECT ${COLUMNS} FROM patterns WHERE org_id = $1 AND type = $2 AND deleted_at IS NULL
     ORDER BY accuracy DESC NULLS LAST, usage_count DESC, created_at, id LIMIT 1`,
    [orgId, type],
  );
  return r.rows[0];
}

/** An agent's cognitive pattern: the type of pattern it uses by default. */
export async function agentCognitivePattern(sql: Sql, orgId: string, agentId: string): Promise<PatternType | undefined> {
  const r = await sql.query<{ p: PatternType }>(`SELECT cognitive_pattern AS p FROM agents WHERE org_id = $1 AND id = $2`, [orgId, agentId]);
  return r.rows[0]?.p;
}
