import type { Sql } from '../db/index.js';
import type { AgentStatus } from './status.js';

/** The configuration fields a caller sets; everything else is managed by the service. */
export interface AgentFields {
  name: string;
  slug: string;
  description: string | null;
  type: string;
  systemPrompt: string;
  model: string;
  modelSettings: Record<string, unknown>;
  temperature: number;
  maxTokens: number;
  tools: string[];
  memoryEnabled: boolean;
  memoryType: string;
  cognitivePattern: string;
  learningRate: number | null;
  performanceScore: number | null;
  metadata: Record<string, unknown>;
}

export interface AgentRow extends AgentFields {
  id: string;
  status: AgentStatus;
  currentVersionId: string | null;
  /** the semver of currentVersionId, for readers who do not want a second request */
  currentVersion: string | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date | null;
}

// numeric(3,2) columns come back as float8 so the API shows numbers, not strings.
const COLUMNS = `a.id, a.name, a.slug, a.description, a.type, a.system_prompt AS "systemPrompt", a.model,
  a.model_settings AS "modelSettings", a.temperature::float8 AS temperature, a.max_tokens AS "maxTokens", a.tools,
  a.memory_enabled AS "memoryEnabled", a.memory_type AS "memoryType", a.status, a.cognitive_pattern AS "cognitivePattern",
  a.learning_rate::float8 AS "learningRate", a.performance_score::float8 AS "performanceScore", a.metadata,
  a.current_version_id AS "currentVersionId",
  (SELECT v.version FROM agent_versions v WHERE v.id = a.current_version_id) AS "currentVersion",
  a.version, a.created_by AS "createdBy", a.created_at AS "createdAt", a.updated_at AS "updatedAt",
  a.published_at AS "publishedAt"`;

// Allow-list from API field to column: the only identifiers that reach the SQL text.
const FIELD_COLUMNS: Record<keyof AgentFields, { col: string; json?: true }> = {
  name: { col: 'name' },
  slug: { col: 'slug' },
  description: { col: 'description' },
  type: { col: 'type' },
  systemPrompt: { col: 'system_prompt' },
  model: { col: 'model' },
  modelSettings: { col: 'model_settings', json: true },
  temperature: { col: 'temperature' },
  maxTokens: { col: 'max_tokens' },
  tools: { col: 'tools', json: true },
  memoryEnabled: { col: 'memory_enabled' },
  memoryType: { col: 'memory_type' },
  cognitivePattern: { col: 'cognitive_pattern' },
  learningRate: { col: 'learning_rate' },
  performanceScore: { col: 'performance_score' },
  metadata: { col: 'metadata', json: true },
};

const LOCKS = { update: 'FOR UPDATE OF a', share: 'FOR SHARE OF a' } as const;

const param = (k: keyof AgentFields, v: unknown): unknown => (FIELD_COLUMNS[k].json ? JSON.stringify(v) : v);

export async function insertAgent(sql: Sql, orgId: string, createdBy: string | null, f: AgentFields): Promise<AgentRow> {
  const keys = Object.keys(FIELD_COLUMNS) as (keyof AgentFields)[];
  const params: unknown[] = [orgId, createdBy, ...keys.map((k) => param(k, f[k]))];
  const r = await sql.query<AgentRow>(
    `INSERT INTO agents AS a (org_id, created_by, ${keys.map((k) => FIELD_COLUMNS[k].col).join(', ')})
     VALUES ($1, $2, ${keys.map((_k, i) => `$${i + 3}`).join(', ')}) RETURNING ${COLUMNS}`,
    params,
  );
  return r.rows[0]!;
}

/** An agent by its id or by its slug (agent-ref.ts decides which a path names). */
export type AgentKey = { id: string } | { slug: string };

// Both are unique among live agents: the primary key, and unique_agent_slug_per_org.
const keyClause = (k: AgentKey) => ('id' in k ? 'a.id = $1' : 'a.slug = $1');
const keyValue = (k: AgentKey) => ('id' in k ? k.id : k.slug);

/** A live agent; deleted ones do not exist for the API. */
export async function getAgent(sql: Sql, key: AgentKey): Promise<AgentRow | undefined> {
  const r = await sql.query<AgentRow>(`SELECT ${COLUMNS} FROM agents a WHERE ${keyClause(key)} AND a.deleted_at IS NULL`, [keyValue(key)]);
  return r.rows[0];
}

/**
 * A live agent, row-locked: `update` for changes to the agent itself (so
 * publishing and status changes serialize), `share` for writes to its children
 * (capabilities, checkpoints), which must not race a delete or an archive.
 */
export async function lockAgent(sql: Sql, key: AgentKey, mode: keyof typeof LOCKS): Promise<AgentRow | undefined> {
  const r = await sql.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents a WHERE ${keyClause(key)} AND a.deleted_at IS NULL ${LOCKS[mode]}`,
    [keyValue(key)],
  );
  return r.rows[0];
}

export async function listAgents(
  sql: Sql,
  f: { status?: AgentStatus; type?: string; beforeId?: string; limit: number },
): Promise<AgentRow[]> {
  const params: unknown[] = [f.limit];
  const where = ['a.deleted_at IS NULL'];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (f.status) add('a.status = ?', f.status);
  if (f.type) add('a.type = ?', f.type);
  // Keyset on the cursor row's own values: exact whatever the timestamp precision.
  if (f.beforeId) add('(a.created_at, a.id) < (SELECT created_at, id FROM agents WHERE id = ?)', f.beforeId);
  const r = await sql.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents a WHERE ${where.join(' AND ')} ORDER BY a.created_at DESC, a.id DESC LIMIT $1`,
    params,
  );
  return r.rows;
}

/** Live slugs equal to base or base-<anything>, to pick a free derived slug. */
export async function slugsLike(sql: Sql, base: string): Promise<string[]> {
  // Slugs are [a-z0-9-] only, so base holds no LIKE wildcards.
  const r = await sql.query<{ slug: string }>(
    `SELECT slug FROM agents WHERE deleted_at IS NULL AND (slug = $1 OR slug LIKE $1 || '-%')`,
    [base],
  );
  return r.rows.map((x) => x.slug);
}

export async function countLiveAgents(sql: Sql): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE deleted_at IS NULL`);
  return r.rows[0]?.n ?? 0;
}

export async function slugOwner(sql: Sql, slug: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM agents WHERE slug = $1 AND deleted_at IS NULL`, [slug]);
  return r.rows[0]?.id;
}

/**
 * Which of these ids (any agent, deleted ones included: telemetry may describe
 * an agent deleted since) and slugs (live agents) exist in the tenant.
 */
export async function findAgentRefs(sql: Sql, ids: string[], slugs: string[]): Promise<Array<{ id: string; slug: string }>> {
  if (!ids.length && !slugs.length) return [];
  const r = await sql.query<{ id: string; slug: string }>(
    `SELECT id, slug FROM agents
     WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)
        OR (slug IN (SELECT jsonb_array_elements_text($2::jsonb)) AND deleted_at IS NULL)`,
    [JSON.stringify(ids), JSON.stringify(slugs)],
  );
  return r.rows;
}

/** Optimistic update: undefined when no live row has this id and version. */
export async function updateAgent(sql: Sql, id: string, version: number, patch: Partial<AgentFields>): Promise<AgentRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [id, version];
  for (const k of Object.keys(FIELD_COLUMNS) as (keyof AgentFields)[]) {
    if (patch[k] === undefined) continue;
    params.push(param(k, patch[k]));
    sets.push(`${FIELD_COLUMNS[k].col} = $${params.length}`);
  }
  // An empty patch still bumps version: the caller asked for a write and gets a consistent answer.
  if (sets.length === 0) sets.push('version = a.version');
  const r = await sql.query<AgentRow>(
    `UPDATE agents AS a SET ${sets.join(', ')} WHERE a.id = $1 AND a.version = $2 AND a.deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return r.rows[0];
}

export async function setAgentStatus(sql: Sql, id: string, version: number, status: AgentStatus): Promise<AgentRow | undefined> {
  const r = await sql.query<AgentRow>(
    `UPDATE agents AS a SET status = $3 WHERE a.id = $1 AND a.version = $2 AND a.deleted_at IS NULL RETURNING ${COLUMNS}`,
    [id, version, status],
  );
  return r.rows[0];
}

/** Points the agent at a version; `published` also stamps published_at (a new version, not a rollback). */
export async function setCurrentVersion(sql: Sql, id: string, versionId: string, published: boolean): Promise<AgentRow> {
  const r = await sql.query<AgentRow>(
    `UPDATE agents AS a SET current_version_id = $2, published_at = CASE WHEN $3 THEN now() ELSE a.published_at END
     WHERE a.id = $1 AND a.deleted_at IS NULL RETURNING ${COLUMNS}`,
    [id, versionId, published],
  );
  return r.rows[0]!;
}

export async function softDeleteAgent(sql: Sql, id: string): Promise<boolean> {
  const r = await sql.query(`UPDATE agents SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return r.rowCount > 0;
}

/** Live agents whose tools list names this tool. */
export async function agentsUsingTool(sql: Sql, toolId: string): Promise<Array<{ id: string; slug: string }>> {
  const r = await sql.query<{ id: string; slug: string }>(
    `SELECT id, slug FROM agents WHERE deleted_at IS NULL AND tools @> jsonb_build_array($1::text) ORDER BY slug LIMIT 100`,
    [toolId],
  );
  return r.rows;
}
