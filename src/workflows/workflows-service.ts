import { appendAudit, type Actor } from '../audit/index.js';
import { isPgError, uuidv7 } from '../db/index.js';
import { conflict, notFound, versionConflict } from '../errors.js';
import { parseDefinition } from './dag.js';
import type { WorkflowsDeps } from './deps.js';
import { assertRefsExist } from './refs.js';
import * as runs from './runs-repo.js';
import * as repo from './workflows-repo.js';
import type { WorkflowRow, WorkflowStatus, WorkflowVersionRow } from './workflows-repo.js';

export interface CreateWorkflowInput {
  name: string;
  description?: string | null;
  steps: unknown[];
  status?: WorkflowStatus;
}

export interface UpdateWorkflowInput {
  version: number;
  name?: string;
  description?: string | null;
  steps?: unknown[];
  status?: WorkflowStatus;
}

const nameTaken = (name: string) => conflict(`a workflow named "${name}" already exists; choose another name`, { field: 'name', name });

export async function createWorkflow(deps: WorkflowsDeps, actor: Actor, input: CreateWorkflowInput): Promise<WorkflowRow> {
  const def = parseDefinition(input.steps);
  await assertRefsExist(deps, actor.orgId, def);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const w = await repo.insertWorkflow(sql, actor.orgId, {
        id: uuidv7(), name: input.name, description: input.description ?? null, steps: def.steps, dependencies: def.dependencies,
        status: input.status ?? 'draft', createdBy: actor.userId,
      });
      await repo.insertWorkflowVersion(sql, actor.orgId, { workflowId: w.id, version: w.version, steps: w.steps, dependencies: w.dependencies, createdBy: actor.userId });
      await appendAudit(sql, actor, { action: 'workflow.created', resourceType: 'workflow', resourceId: w.id, newValues: w });
      return w;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw nameTaken(input.name);
    throw err;
  }
}

export function getWorkflow(deps: WorkflowsDeps, orgId: string, id: string): Promise<WorkflowRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const w = await repo.getWorkflow(sql, orgId, id);
    if (!w) throw notFound('workflow', id);
    return w;
  });
}

export function listWorkflows(deps: WorkflowsDeps, orgId: string, f: Parameters<typeof repo.listWorkflows>[2]): Promise<WorkflowRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listWorkflows(sql, orgId, f));
}

/**
 * Every save is a new version (the number is also the optimistic lock: send
 * the version you read). Runs already started keep executing the version
 * they started on; an archived workflow is final.
 */
export async function updateWorkflow(deps: WorkflowsDeps, actor: Actor, id: string, input: UpdateWorkflowInput): Promise<WorkflowRow> {
  const def = input.steps === undefined ? undefined : parseDefinition(input.steps);
  if (def) await assertRefsExist(deps, actor.orgId, def);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await repo.getWorkflow(sql, actor.orgId, id, 'update');
      if (!before) throw notFound('workflow', id);
      if (before.version !== input.version) throw versionConflict('workflow', input.version);
      if (before.status === 'archived') {
        throw conflict(`workflow ${id} is archived and cannot change; create a new workflow instead`, { status: before.status });
      }
      const after = await repo.updateWorkflow(sql, actor.orgId, id, input.version, {
        name: input.name, description: input.description, steps: def?.steps, dependencies: def?.dependencies, status: input.status,
      });
      if (!after) throw versionConflict('workflow', input.version);
      await repo.insertWorkflowVersion(sql, actor.orgId, {
        workflowId: id, version: after.version, steps: after.steps, dependencies: after.dependencies, createdBy: actor.userId,
      });
      await appendAudit(sql, actor, { action: 'workflow.updated', resourceType: 'workflow', resourceId: id, oldValues: before, newValues: after });
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505') && input.name !== undefined) throw nameTaken(input.name);
    throw err;
  }
}

/** Soft delete; refused while runs of it are unfinished (cancel them first), so none loses its definition's row. */
export async function deleteWorkflow(deps: WorkflowsDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const w = await repo.getWorkflow(sql, actor.orgId, id, 'update');
    if (!w) throw notFound('workflow', id);
    const open = await runs.countOpenRuns(sql, actor.orgId, id);
    if (open > 0) throw conflict(`workflow ${id} has ${open} unfinished runs; cancel them first`, { openRuns: open });
    await repo.softDeleteWorkflow(sql, actor.orgId, id);
    await appendAudit(sql, actor, { action: 'workflow.deleted', resourceType: 'workflow', resourceId: id, oldValues: w });
  });
}

export function listWorkflowVersions(deps: WorkflowsDeps, orgId: string, id: string, f: { beforeVersion?: number; limit: number }): Promise<WorkflowVersionRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getWorkflow(sql, orgId, id))) throw notFound('workflow', id);
    return repo.listWorkflowVersions(sql, orgId, id, f);
  });
}

export function getWorkflowVersion(deps: WorkflowsDeps, orgId: string, id: string, version: number): Promise<WorkflowVersionRow> {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getWorkflow(sql, orgId, id))) throw notFound('workflow', id);
    const v = await repo.getWorkflowVersion(sql, orgId, id, version);
    if (!v) throw notFound(`version ${version} of workflow`, id);
    return v;
  });
}
