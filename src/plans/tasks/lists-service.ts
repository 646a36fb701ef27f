import { appendAudit, type Actor } from '../../audit/index.js';
import type { Sql } from '../../db/index.js';
import { notFound, versionConflict } from '../../errors.js';
import { clock, type TasksDeps } from './deps.js';
import * as repo from './lists-repo.js';
import type { ListFilter, ListRow } from './lists-repo.js';
import { getProject } from './projects-repo.js';
import { lockLists } from './task-positions.js';
import { setProjectOfList, softDeleteTasksOf } from './tasks-repo.js';

export type { ListRow };

export interface CreateListInput {
  name: string;
  projectId?: string | null | undefined;
  listOrder?: number | null | undefined;
}

export interface UpdateListInput {
  version: number;
  name?: string | undefined;
  /** another project (its tasks follow), or null for none */
  projectId?: string | null | undefined;
  listOrder?: number | null | undefined;
}

const missing = (id: string) => notFound('list', id);

/** A project named in a body must be a live project of the organization (RLS hides others'). */
export async function requireProject(sql: Sql, orgId: string, projectId: string | null): Promise<void> {
  if (projectId !== null && !(await getProject(sql, orgId, projectId))) throw notFound('project', projectId);
}

export function createList(deps: TasksDeps, actor: Actor & { userId: string }, input: CreateListInput): Promise<ListRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const projectId = input.projectId ?? null;
    await requireProject(sql, actor.orgId, projectId);
    const row = await repo.insertList(sql, actor.orgId, actor.userId, { projectId, name: input.name, listOrder: input.listOrder ?? null }, clock(deps));
    await appendAudit(sql, actor, { action: 'list.created', resourceType: 'list', resourceId: row.id, newValues: row });
    return row;
  });
}

export async function getList(deps: TasksDeps, orgId: string, id: string): Promise<ListRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getList(sql, orgId, id));
  if (!row) throw missing(id);
  return row;
}

export function listLists(deps: TasksDeps, orgId: string, f: ListFilter): Promise<ListRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listLists(sql, orgId, f));
}

export function updateList(deps: TasksDeps, actor: Actor, id: string, input: UpdateListInput): Promise<ListRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getList(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    if (before.version !== input.version) throw versionConflict(`list ${id}`, input.version);
    const projectId = input.projectId === undefined ? before.projectId : input.projectId;
    if (projectId !== before.projectId) {
      await requireProject(sql, actor.orgId, projectId);
      await setProjectOfList(sql, actor.orgId, id, projectId);
    }
    const after = await repo.updateList(sql, actor.orgId, id, {
      projectId,
      name: input.name ?? before.name,
      listOrder: input.listOrder === undefined ? before.listOrder : input.listOrder,
    }, clock(deps));
    await appendAudit(sql, actor, { action: 'list.updated', resourceType: 'list', resourceId: id, oldValues: before, newValues: after });
    return after;
  });
}

/** Soft-deletes the list and its tasks. */
export async function deleteList(deps: TasksDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await lockLists(sql, actor.orgId, [id])).has(id)) throw missing(id);
    const before = (await repo.getList(sql, actor.orgId, id))!;
    const at = clock(deps);
    const tasks = await softDeleteTasksOf(sql, actor.orgId, { listIds: [id] }, at);
    await repo.softDeleteLists(sql, actor.orgId, [id], at);
    await appendAudit(sql, actor, {
      action: 'list.deleted', resourceType: 'list', resourceId: id, oldValues: before, newValues: { deletedAt: at, tasksDeleted: tasks },
    });
  });
}
