import { appendAudit, type Actor } from '../../audit/index.js';
import { notFound, versionConflict } from '../../errors.js';
import { clock, type TasksDeps } from './deps.js';
import * as lists from './lists-repo.js';
import * as repo from './projects-repo.js';
import type { ProjectFilter, ProjectRow } from './projects-repo.js';
import { softDeleteTasksOf } from './tasks-repo.js';

export type { ProjectRow };

export interface CreateProjectInput {
  name: string;
  description?: string | null | undefined;
  color?: string | null | undefined;
}

export interface UpdateProjectInput {
  version: number;
  name?: string | undefined;
  description?: string | null | undefined;
  color?: string | null | undefined;
  /** true archives (keeps the first archivedAt), false un-archives */
  archived?: boolean | undefined;
}

const missing = (id: string) => notFound('project', id);

export function createProject(deps: TasksDeps, actor: Actor & { userId: string }, input: CreateProjectInput): Promise<ProjectRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.insertProject(sql, actor.orgId, actor.userId, {
      name: input.name, description: input.description ?? null, color: input.color ?? null, archivedAt: null,
    }, clock(deps));
    await appendAudit(sql, actor, { action: 'project.created', resourceType: 'project', resourceId: row.id, newValues: row });
    return row;
  });
}

export async function getProject(deps: TasksDeps, orgId: string, id: string): Promise<ProjectRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getProject(sql, orgId, id));
  if (!row) throw missing(id);
  return row;
}

export function listProjects(deps: TasksDeps, orgId: string, f: ProjectFilter): Promise<ProjectRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listProjects(sql, orgId, f));
}

export function updateProject(deps: TasksDeps, actor: Actor, id: string, input: UpdateProjectInput): Promise<ProjectRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getProject(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    if (before.version !== input.version) throw versionConflict(`project ${id}`, input.version);
    const at = clock(deps);
    const archivedAt = input.archived === undefined ? before.archivedAt : input.archived ? (before.archivedAt ?? at) : null;
    const after = await repo.updateProject(sql, actor.orgId, id, {
      name: input.name ?? before.name,
      description: input.description === undefined ? before.description : input.description,
      color: input.color === undefined ? before.color : input.color,
      archivedAt,
    }, at);
    await appendAudit(sql, actor, { action: 'project.updated', resourceType: 'project', resourceId: id, oldValues: before, newValues: after });
    return after;
  });
}

/** Soft-deletes the project, its lists and their tasks, and the project's other tasks. */
export async function deleteProject(deps: TasksDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getProject(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    const at = clock(deps);
    // Its lists are locked in id order, as every change of positions locks them.
    const listIds = await lists.lockProjectLists(sql, actor.orgId, id);
    const tasks = await softDeleteTasksOf(sql, actor.orgId, { listIds, projectId: id }, at);
    await lists.softDeleteLists(sql, actor.orgId, listIds, at);
    await repo.softDeleteProject(sql, actor.orgId, id, at);
    await appendAudit(sql, actor, {
      action: 'project.deleted', resourceType: 'project', resourceId: id, oldValues: before,
      newValues: { deletedAt: at, listsDeleted: listIds.length, tasksDeleted: tasks },
    });
  });
}
