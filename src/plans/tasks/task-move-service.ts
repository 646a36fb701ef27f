import { appendAudit, type Actor } from '../../audit/index.js';
import { notFound, versionConflict } from '../../errors.js';
import { clock, type TasksDeps } from './deps.js';
import { getList } from './lists-repo.js';
import { clampPosition, closeGap, listLength, openGap, shiftWithin } from './task-positions.js';
import { placeTask, type TaskRow } from './tasks-repo.js';
import { withListsOf } from './tasks-service.js';

export interface MoveTaskInput {
  /** the list to move to; default the task's own */
  listId?: string | undefined;
  /** 0-based; past the end means last */
  position: number;
  /** when given, a stale version is refused with 409 */
  version?: number | undefined;
}

/**
 * Moves a task within its list or into another (which it then belongs to,
 * project included). Positions stay 0..n-1 in both lists: both lists' rows
 * are locked in id order before anything shifts (see task-positions.ts).
 */
export function moveTask(deps: TasksDeps, actor: Actor, id: string, input: MoveTaskInput): Promise<TaskRow> {
  return withListsOf(deps, actor.orgId, id, input.listId ? [input.listId] : [], async (sql, before, locked) => {
    const target = input.listId ?? before.listId;
    if (target === null) throw notFound('list', 'of the task (it is in none; send listId)');
    if (!locked.has(target)) throw notFound('list', target);
    if (input.version !== undefined && before.version !== input.version) throw versionConflict(`task ${id}`, input.version);
    const list = (await getList(sql, actor.orgId, target))!;
    let position: number;
    if (before.listId === target && before.position !== null) {
      position = clampPosition(input.position, (await listLength(sql, actor.orgId, target)) - 1);
      await shiftWithin(sql, actor.orgId, target, before.position, position);
    } else {
      if (before.listId !== null && before.position !== null) await closeGap(sql, actor.orgId, before.listId, before.position);
      position = clampPosition(input.position, await listLength(sql, actor.orgId, target));
      await openGap(sql, actor.orgId, target, position);
    }
    const after = await placeTask(sql, actor.orgId, id, { listId: target, position, projectId: list.projectId }, clock(deps));
    await appendAudit(sql, actor, {
      action: 'task.moved', resourceType: 'task', resourceId: id,
      oldValues: { listId: before.listId, position: before.position, projectId: before.projectId },
      newValues: { listId: after.listId, position: after.position, projectId: after.projectId },
    });
    return after;
  });
}
