import type { Sql } from '../db/index.js';
import type { ToolType } from './tool-config.js';

export interface ToolRow {
  id: string;
  name: string;
  description: string;
  toolType: ToolType;
  config: Record<string, unknown>;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown> | null;
  isActive: boolean;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ToolFields {
  name: string;
  description: string;
  toolType: ToolType;
  config: Record<string, unknown>;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown> | null;
  isActive: boolean;
}

const COLUMNS = `id, name, description, tool_type AS "toolType", config, input_schema AS "inputSchema",
  output_schema AS "outputSchema", is_active AS "isActive", version, created_by AS "createdBy", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

// Allow-list from API field to column: the only identifiers that reach the SQL text.
const FIELD_COLUMNS: Record<keyof ToolFields, { col: string; json?: true }> = {
  name: { col: 'name' },
  description: { col: 'description' },
  toolType: { col: 'tool_type' },
  config: { col: 'config', json: true },
  inputSchema: { col: 'input_schema', json: true },
  outputSchema: { col: 'output_schema', json: true },
  isActive: { col: 'is_active' },
};

const param = (k: keyof ToolFields, v: unknown): unknown => (FIELD_COLUMNS[k].json && v !== null ? JSON.stringify(v) : v);

export async function insertTool(sql: Sql, orgId: string, createdBy: string | null, f: ToolFields): Promise<ToolRow> {
  const keys = Object.keys(FIELD_COLUMNS) as (keyof ToolFields)[];
  const r = await sql.query<ToolRow>(
    `INSERT INTO agent_tools (org_id, created_by, ${keys.map((k) => FIELD_COLUMNS[k].col).join(', ')})
     VALUES ($1, $2, ${keys.map((_k, i) => `$${i + 3}`).join(', ')}) RETURNING ${COLUMNS}`,
    [orgId, createdBy, ...keys.map((k) => param(k, f[k]))],
  );
  return r.rows[0]!;
}

export async function getTool(sql: Sql, id: string): Promise<ToolRow | undefined> {
  const r = await sql.query<ToolRow>(`SELECT ${COLUMNS} FROM agent_tools WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return r.rows[0];
}

/** Row-locked so a delete and an agent starting to reference the tool cannot both succeed. */
export async function getToolForUpdate(sql: Sql, id: string): Promise<ToolRow | undefined> {
  const r = await sql.query<ToolRow>(`SELECT ${COLUMNS} FROM agent_tools WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [id]);
  return r.rows[0];
}

/**
 * The live tools among ids, share-locked until the transaction ends: a
 * concurrent delete (which takes the row lock first) either finishes before
 * us, and the tool is missing here, or waits and then sees our reference.
 */
export async function lockLiveTools(sql: Sql, ids: readonly string[]): Promise<ToolRow[]> {
  if (ids.length === 0) return [];
  const r = await sql.query<ToolRow>(
    `SELECT ${COLUMNS} FROM agent_tools WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL ORDER BY id FOR SHARE`,
    [ids],
  );
  return r.rows;
}

/**
 * Live tools (active or not) named by id or by name among refs: the agent
 * loop resolves an agent's tools list with it (ids from agents.tools, names
 * from a request).
 */
export async function findLiveTools(sql: Sql, orgId: string, refs: readonly string[]): Promise<ToolRow[]> {
  if (refs.length === 0) return [];
  const r = await sql.query<ToolRow>(
    `SELECT ${COLUMNS} FROM agent_tools
     WHERE org_id = $1 AND deleted_at IS NULL AND (id::text = ANY($2::text[]) OR name = ANY($2::text[]))`,
    [orgId, refs],
  );
  return r.rows;
}

export async function toolNameOwner(sql: Sql, name: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM agent_tools WHERE name = $1 AND deleted_at IS NULL`, [name]);
  return r.rows[0]?.id;
}

export async function listTools(sql: Sql, f: { toolType?: ToolType; beforeId?: string; limit: number }): Promise<ToolRow[]> {
  const params: unknown[] = [f.limit];
  const where = ['deleted_at IS NULL'];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (f.toolType) add('tool_type = ?', f.toolType);
  if (f.beforeId) add('(created_at, id) < (SELECT created_at, id FROM agent_tools WHERE id = ?)', f.beforeId);
  const r = await sql.query<ToolRow>(
    `SELECT ${COLUMNS} FROM agent_tools WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $1`,
    params,
  );
  return r.rows;
}

/** Optimistic update: undefined when no live row has this id and version. */
export async function updateTool(sql: Sql, id: string, version: number, patch: Partial<ToolFields>): Promise<ToolRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [id, version];
  for (const k of Object.keys(FIELD_COLUMNS) as (keyof ToolFields)[]) {
    if (patch[k] === undefined) continue;
    params.push(param(k, patch[k]));
    sets.push(`${FIELD_COLUMNS[k].col} = $${params.length}`);
  }
  if (sets.length === 0) sets.push('version = version');
  const r = await sql.query<ToolRow>(
    `UPDATE agent_tools SET ${sets.join(', ')} WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return r.rows[0];
}

export async function softDeleteTool(sql: Sql, id: string): Promise<boolean> {
  const r = await sql.query(`UPDATE agent_tools SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return r.rowCount > 0;
}
