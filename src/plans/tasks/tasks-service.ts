import { appendAudit, type Actor } from '../../audit/index.js';
import type { Sql } from '../../db/index.js';
import { badRequest, notFound, versionConflict } from '../../errors.js';
import { findMemberRefs } from '../../identity/index.js';
import { clock, type TasksDeps } from './deps.js';
import { getList } from './lists-repo.js';
import { requireProject } from './lists-service.js';
import { clampPosition, closeGap, listLength, lockLists, openGap } from './task-positions.js';
import { activitySummary, listTasks as queryTasks, type ActivitySummary, type TaskCursor, type TaskFilter } from './tasks-query-repo.js';
import * as repo from './tasks-repo.js';
import type { TaskFields, TaskRow, TaskStatus } from './tasks-repo.js';
import { searchTasks as searchRepo, type TaskSearchPage } from './tasks-search-repo.js';

export type { ActivitySummary, TaskFilter, TaskRow, TaskSearchPage };

export interface CreateTaskInput {
  title: string;
  description?: string | null | undefined;
  status?: TaskStatus | undefined;
  priority?: number | undefined;
  dueDate?: string | null | undefined;
  /** the owner; default the caller */
  userId?: string | undefined;
  projectId?: string | null | undefined;
  listId?: string | null | undefined;
  /** in the list; default (and past the end) last */
  position?: number | undefined;
}

export interface UpdateTaskInput {
  version: number;
  title?: string | undefined;
  description?: string | null | undefined;
  status?: TaskStatus | undefined;
  priority?: number | undefined;
  dueDate?: string | null | undefined;
  userId?: string | undefined;
  projectId?: string | null | undefined;
}

export const missingTask = (id: string) => notFound('task', id);

/** An owner must be a member of the organization (memberships are under RLS: another org's are not found). */
async function requireMember(sql: Sql, userId: string): Promise<void> {
  if (!(await findMemberRefs(sql, [userId])).has(userId)) {
    throw badRequest(`userId ${userId} is not a member of this organization`, { field: 'userId' });
  }
}

/** A task in a list belongs to the list's project: a different projectId is refused, none takes the list's. */
export function projectInList(listProject: string | null, asked: string | null | undefined): string | null {
  if (asked !== undefined && asked !== listProject) {
    throw badRequest(`a task in a list belongs to the list's project (${listProject ?? 'none'}); move the task to change it`, { field: 'projectId' });
  }
  return listProject;
}

export function createTask(deps: TasksDeps, actor: Actor & { userId: string }, input: CreateTaskInput): Promise<TaskRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const userId = input.userId ?? actor.userId;
    if (userId !== actor.userId) await requireMember(sql, userId);
    const fields: TaskFields = {
      userId, projectId: input.projectId ?? null, title: input.title, description: input.description ?? null,
      status: input.status ?? 'todo', priority: input.priority ?? 0, dueDate: input.dueDate ?? null,
    };
    let place: { listId: string; position: number } | null = null;
    if (input.listId) {
      if (!(await lockLists(sql, actor.orgId, [input.listId])).has(input.listId)) throw notFound('list', input.listId);
      const list = (await getList(sql, actor.orgId, input.listId))!;
      fields.projectId = projectInList(list.projectId, input.projectId);
      const position = clampPosition(input.position, await listLength(sql, actor.orgId, list.id));
      await openGap(sql, actor.orgId, list.id, position);
      place = { listId: list.id, position };
    } else {
      if (input.position !== undefined) throw badRequest('position needs a listId', { field: 'position' });
      await requireProject(sql, actor.orgId, fields.projectId);
    }
    const row = await repo.insertTask(sql, actor.orgId, fields, place, clock(deps));
    await appendAudit(sql, actor, { action: 'task.created', resourceType: 'task', resourceId: row.id, newValues: row });
    return row;
  });
}

export async function getTask(deps: TasksDeps, orgId: string, id: string): Promise<TaskRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getTask(sql, orgId, id));
  if (!row) throw missingTask(id);
  return row;
}

export function listTasks(deps: TasksDeps, orgId: string, f: TaskFilter, before: TaskCursor | undefined, limit: number): Promise<TaskRow[]> {
  return deps.db.tenant(orgId, (sql) => queryTasks(sql, orgId, f, before, limit));
}

/** Full text (websearch syntax), ranked; `offset` pages through the ranked matches. */
export function searchTasks(deps: TasksDeps, orgId: string, query: string, f: TaskFilter, offset: number, limit: number): Promise<TaskSearchPage> {
  return deps.db.tenant(orgId, (sql) => searchRepo(sql, orgId, query, f, offset, limit));
}

export function updateTask(deps: TasksDeps, actor: Actor, id: string, input: UpdateTaskInput): Promise<TaskRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getTask(sql, actor.orgId, id, true);
    if (!before) throw missingTask(id);
    if (before.version !== input.version) throw versionConflict(`task ${id}`, input.version);
    if (input.userId !== undefined && input.userId !== before.userId) await requireMember(sql, input.userId);
    let projectId = before.projectId;
    if (input.projectId !== undefined && input.projectId !== before.projectId) {
      if (before.listId !== null) projectInList(before.projectId, input.projectId);
      await requireProject(sql, actor.orgId, input.projectId);
      projectId = input.projectId;
    }
    const after = await repo.updateTask(sql, actor.orgId, id, {
      userId: input.userId ?? before.userId,
      projectId,
      title: input.title ?? before.title,
      description: input.description === undefined ? before.description : input.description,
      status: input.status ?? before.status,
      priority: input.priority ?? before.priority,
      dueDate: input.dueDate === undefined ? before.dueDate : input.dueDate,
    }, clock(deps));
    await appendAudit(sql, actor, { action: 'task.updated', resourceType: 'task', resourceId: id, oldValues: before, newValues: after });
    return after;
  });
}

/**
 * Soft-deletes the task; it leaves its list, whose later tasks move up one.
 * The list is locked first (as every position change does), then the task is
 * read again: a concurrent move may have taken it to another list meanwhile.
 */
export async function deleteTask(deps: TasksDeps, actor: Actor, id: string): Promise<void> {
  await withListsOf(deps, actor.orgId, id, [], async (sql, before) => {
    const at = clock(deps);
    await repo.softDeleteTask(sql, actor.orgId, id, at);
    if (before.listId !== null && before.position !== null) await closeGap(sql, actor.orgId, before.listId, before.position);
    await appendAudit(sql, actor, { action: 'task.deleted', resourceType: 'task', resourceId: id, oldValues: before, newValues: { deletedAt: at } });
  });
}

class ListChanged extends Error {}
const ATTEMPTS = 10;

/**
 * Runs fn in a tenant transaction holding the row locks of the task's list
 * and of `more` lists (in id order), then of the task. If the task changed
 * lists between the first read and the locks, the transaction is retried.
 */
export async function withListsOf<T>(
  deps: TasksDeps, orgId: string, id: string, more: readonly string[], fn: (sql: Sql, task: TaskRow, locked: Set<string>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.tenant(orgId, async (sql) => {
        const seen = await repo.getTask(sql, orgId, id);
        if (!seen) throw missingTask(id);
        const locked = await lockLists(sql, orgId, seen.listId ? [seen.listId, ...more] : more);
        const task = await repo.getTask(sql, orgId, id, true);
        if (!task) throw missingTask(id);
        if (task.listId !== seen.listId) throw new ListChanged();
        return fn(sql, task, locked);
      });
    } catch (err) {
      if (!(err instanceof ListChanged) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Seed 004's user_activity_summary of one member (default the caller), computed live. */
export async function summary(deps: TasksDeps, orgId: string, userId: string, self: boolean): Promise<ActivitySummary> {
  return deps.db.tenant(orgId, async (sql) => {
    if (!self && !(await findMemberRefs(sql, [userId])).has(userId)) throw notFound('user', userId);
    return activitySummary(sql, orgId, userId);
  });
}
