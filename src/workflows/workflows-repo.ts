import type { Sql } from '../db/index.js';
import type { Dependencies, Step } from './definition-schema.js';

export const WORKFLOW_STATUSES = ['draft', 'active', 'archived'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

export interface WorkflowRow {
  id: string;
  name: string;
  description: string | null;
  steps: Step[];
  dependencies: Dependencies;
  status: WorkflowStatus;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WorkflowVersionRow {
  workflowId: string;
  version: number;
  steps: Step[];
  dependencies: Dependencies;
  createdBy: string | null;
  createdAt: Date;
}

const COLUMNS = `id, name, description, steps, dependencies, status, version, created_by AS "createdBy",
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const VERSION_COLUMNS = `workflow_id AS "workflowId", version, steps, dependencies, created_by AS "createdBy", created_at AS "createdAt"`;
const LOCKS = { update: 'FOR UPDATE', share: 'FOR SHARE' } as const;

export interface NewWorkflow {
  id: string;
  name: string;
  description: string | null;
  steps: Step[];
  dependencies: Dependencies;
  status: WorkflowStatus;
  createdBy: string | null;
}

export async function insertWorkflow(sql: Sql, orgId: string, w: NewWorkflow): Promise<WorkflowRow> {
  const r = await sql.query<WorkflowRow>(
    `INSERT INTO workflows (id, org_id, name, description, steps, dependencies, status, created_by)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8) RETURNING ${COLUMNS}`,
    [w.id, orgId, w.name, w.description, JSON.stringify(w.steps), JSON.stringify(w.dependencies), w.status, w.createdBy],
  );
  return r.rows[0]!;
}

/** A live workflow, locked as asked. */
export async function getWorkflow(sql: Sql, orgId: string, id: string, lock?: keyof typeof LOCKS): Promise<WorkflowRow | undefined> {
  const r = await sql.query<WorkflowRow>(
    `SELECT ${COLUMNS} FROM workflows WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL ${lock ? LOCKS[lock] : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

/** Newest first; ids are UUIDv7, so id order is creation order and an exact keyset. */
export async function listWorkflows(
  sql: Sql,
  orgId: string,
  f: { status?: WorkflowStatus; beforeId?: string; limit: number },
): Promise<WorkflowRow[]> {
  const params: unknown[] = [orgId, f.limit];
  const where = ['org_id = $1', 'deleted_at IS NULL'];
  if (f.status) {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  }
  if (f.beforeId) {
    params.push(f.beforeId);
    where.push(`id < $${params.length}`);
  }
  const r = await sql.query<WorkflowRow>(
    `SELECT ${COLUMNS} FROM workflows WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}

export interface WorkflowPatch {
  name?: string;
  description?: string | null;
  steps?: Step[];
  dependencies?: Dependencies;
  status?: WorkflowStatus;
}

// Allow-list from field to column: the only identifiers that reach the SQL text.
const PATCH_COLUMNS: Record<keyof WorkflowPatch, { col: string; json?: true }> = {
  name: { col: 'name' },
  description: { col: 'description' },
  steps: { col: 'steps', json: true },
  dependencies: { col: 'dependencies', json: true },
  status: { col: 'status' },
};

/** Optimistic update that bumps the version; undefined when no live row has this id and version. */
export async function updateWorkflow(sql: Sql, orgId: string, id: string, version: number, patch: WorkflowPatch): Promise<WorkflowRow | undefined> {
  const params: unknown[] = [orgId, id, version];
  const sets = ['version = version + 1'];
  for (const k of Object.keys(PATCH_COLUMNS) as (keyof WorkflowPatch)[]) {
    if (patch[k] === undefined) continue;
    const c = PATCH_COLUMNS[k];
    params.push(c.json ? JSON.stringify(patch[k]) : patch[k]);
    sets.push(`${c.col} = $${params.length}${c.json ? '::jsonb' : ''}`);
  }
  const r = await sql.query<WorkflowRow>(
    `UPDATE workflows SET ${sets.join(', ')}
     WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return r.rows[0];
}

export async function softDeleteWorkflow(sql: Sql, orgId: string, id: string): Promise<boolean> {
  const r = await sql.query(`UPDATE workflows SET deleted_at = now() WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, [orgId, id]);
  return r.rowCount > 0;
}

export async function insertWorkflowVersion(
  sql: Sql,
  orgId: string,
  v: { workflowId: string; version: number; steps: Step[]; dependencies: Dependencies; createdBy: string | null },
): Promise<WorkflowVersionRow> {
  const r = await sql.query<WorkflowVersionRow>(
    `INSERT INTO workflow_versions (org_id, workflow_id, version, steps, dependencies, created_by)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6) RETURNING ${VERSION_COLUMNS}`,
    [orgId, v.workflowId, v.version, JSON.stringify(v.steps), JSON.stringify(v.dependencies), v.createdBy],
  );
  return r.rows[0]!;
}

export async function getWorkflowVersion(sql: Sql, orgId: string, workflowId: string, version: number): Promise<WorkflowVersionRow | undefined> {
  const r = await sql.query<WorkflowVersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM workflow_versions WHERE org_id = $1 AND workflow_id = $2 AND version = $3`,
    [orgId, workflowId, version],
  );
  return r.rows[0];
}

/** Newest first, a range of the primary key (org_id, workflow_id, version). */
export async function listWorkflowVersions(
  sql: Sql,
  orgId: string,
  workflowId: string,
  f: { beforeVersion?: number; limit: number },
): Promise<WorkflowVersionRow[]> {
  const r = await sql.query<WorkflowVersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM workflow_versions
     WHERE org_id = $1 AND workflow_id = $2 AND ($4::int IS NULL OR version < $4)
     ORDER BY version DESC LIMIT $3`,
    [orgId, workflowId, f.limit, f.beforeVersion ?? null],
  );
  return r.rows;
}

/** What a run executes: its version's steps and graph, with the workflow's name (deleted or not) for messages. */
export async function runDefinition(
  sql: Sql,
  orgId: string,
  workflowId: string,
  version: number,
): Promise<{ name: string; steps: Step[]; dependencies: Dependencies } | undefined> {
  const r = await sql.query<{ name: string; steps: Step[]; dependencies: Dependencies }>(
    `SELECT w.name, v.steps, v.dependencies FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id AND w.org_id = v.org_id
     WHERE v.org_id = $1 AND v.workflow_id = $2 AND v.version = $3`,
    [orgId, workflowId, version],
  );
  return r.rows[0];
}
