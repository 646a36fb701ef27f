import type { Sql } from '../db/index.js';

export interface NewVersion {
  version: string;
  changelog: string | null;
  systemPrompt: string;
  model: string;
  temperature: number;
  maxTokens: number;
  /** full definitions of the tools as they were when the version was published */
  tools: unknown[];
  /** the whole configuration snapshot; what runs under this version */
  config: Record<string, unknown>;
}

/** A stored version: what was published, plus who, when and whether it is current. */
export interface VersionRow extends NewVersion {
  id: string;
  agentId: string;
  isPublished: boolean;
  /** whether the agent currently points at this version */
  isCurrent: boolean;
  createdBy: string | null;
  createdAt: Date;
}

const COLUMNS = `v.id, v.agent_id AS "agentId", v.version, v.changelog, v.system_prompt AS "systemPrompt", v.model,
  v.temperature::float8 AS temperature, v.max_tokens AS "maxTokens", v.tools, v.config, v.is_published AS "isPublished",
  coalesce((SELECT a.current_version_id = v.id FROM agents a WHERE a.id = v.agent_id), false) AS "isCurrent",
  v.created_by AS "createdBy", v.created_at AS "createdAt"`;

export async function insertVersion(
  sql: Sql,
  orgId: string,
  agentId: string,
  createdBy: string | null,
  v: NewVersion,
): Promise<VersionRow> {
  // clock_timestamp(), not now(): the caller holds the agent's row lock by now, so
  // creation order is publish order even when transactions began in another order.
  const r = await sql.query<VersionRow>(
    `INSERT INTO agent_versions AS v (org_id, agent_id, created_by, version, changelog, system_prompt, model, temperature,
       max_tokens, tools, config, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, clock_timestamp()) RETURNING ${COLUMNS}`,
    [orgId, agentId, createdBy, v.version, v.changelog, v.systemPrompt, v.model, v.temperature, v.maxTokens,
      JSON.stringify(v.tools), JSON.stringify(v.config)],
  );
  return r.rows[0]!;
}

export async function versionNumbers(sql: Sql, agentId: string): Promise<string[]> {
  const r = await sql.query<{ version: string }>(`SELECT version FROM agent_versions WHERE agent_id = $1`, [agentId]);
  return r.rows.map((x) => x.version);
}

export async function getVersion(sql: Sql, agentId: string, version: string): Promise<VersionRow | undefined> {
  const r = await sql.query<VersionRow>(`SELECT ${COLUMNS} FROM agent_versions v WHERE v.agent_id = $1 AND v.version = $2`, [
    agentId,
    version,
  ]);
  return r.rows[0];
}

export async function getVersionById(sql: Sql, id: string): Promise<VersionRow | undefined> {
  const r = await sql.query<VersionRow>(`SELECT ${COLUMNS} FROM agent_versions v WHERE v.id = $1`, [id]);
  return r.rows[0];
}

export async function listVersions(sql: Sql, agentId: string, opts: { beforeId?: string; limit: number }): Promise<VersionRow[]> {
  const params: unknown[] = [agentId, opts.limit];
  let keyset = '';
  if (opts.beforeId) {
    params.push(opts.beforeId);
    keyset = `AND (v.created_at, v.id) < (SELECT created_at, id FROM agent_versions WHERE id = $3)`;
  }
  const r = await sql.query<VersionRow>(
    `SELECT ${COLUMNS} FROM agent_versions v WHERE v.agent_id = $1 ${keyset} ORDER BY v.created_at DESC, v.id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}

/** Which of these ids are versions in the tenant, with their agent (set-based, for ingestion's reference checks). */
export async function findVersionRefs(sql: Sql, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const r = await sql.query<{ id: string; agent_id: string }>(
    `SELECT id, agent_id FROM agent_versions WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid))`,
    [JSON.stringify(ids)],
  );
  return new Map(r.rows.map((x) => [x.id, x.agent_id]));
}
