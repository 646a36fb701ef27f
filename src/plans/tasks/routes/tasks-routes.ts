import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../../errors.js';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, encodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { TasksDeps } from '../deps.js';
import { moveTask } from '../task-move-service.js';
import * as tasks from '../tasks-service.js';
import {
  changesSomething, CreatedCursor, Description, DueDate, IdParams, Name, NOTHING_TO_CHANGE, Position, Priority, QueryBool, Status, Uuid, Version,
} from './task-schemas.js';

const PositionCursor = z.strictObject({ position: z.number().int().min(0) });
const RankCursor = z.strictObject({ offset: z.number().int().min(1).max(100_000) });
const Words = z.string().trim().min(1, 'must not be blank').max(500).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export function tasksRoutes(deps: TasksDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/tasks', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Create a task; in a list it goes last, or at position (the tasks from there on move down one)',
        body: z.strictObject({
          title: Name(500).describe('1..500 characters'),
          description: Description.nullable().optional().describe('free text'),
          status: Status.optional().describe('todo (default), in_progress, blocked, completed or cancelled'),
          priority: Priority.optional().describe('0 none (default), 1 low, 2 medium, 3 high, 4 urgent'),
          dueDate: DueDate.nullable().optional().describe('YYYY-MM-DD'),
          userId: Uuid.optional().describe('its owner, a member of the organization; default you'),
          projectId: Uuid.nullable().optional().describe("its project; in a list, the list's project"),
          listId: Uuid.nullable().optional().describe('the list it goes into'),
          position: Position.optional().describe('0-based place in the list; default, or past the end, last'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await tasks.createTask(deps, actor(req), req.body)));

    r.get('/v1/tasks', {
      config: { permission: 'tasks:read' },
      schema: {
        tags: ['tasks'],
        summary: 'Tasks, filtered: with q, best match first (each with its score); with listId, in list order; otherwise newest first',
        querystring: z.strictObject({
          ...pageQuery,
          q: Words.optional().describe('full-text words in web-search syntax: "exact phrase", -without, or'),
          status: Status.optional().describe('only tasks in this status'),
          projectId: Uuid.optional().describe("only this project's tasks"),
          listId: Uuid.optional().describe("only this list's tasks, in list order"),
          userId: Uuid.optional().describe("only this member's tasks"),
          dueBefore: DueDate.optional().describe('only tasks due before this date'),
          overdue: QueryBool.optional().describe('true: only tasks due before today and neither completed nor cancelled'),
        }),
      },
    }, async (req) => {
      const { q, limit, cursor, ...filter } = req.query;
      const orgId = principal(req).orgId;
      if (q !== undefined) {
        const offset = decodeCursor(cursor, RankCursor)?.offset ?? 0;
        const found = await tasks.searchTasks(deps, orgId, q, filter, offset, limit + 1);
        const data = found.rows.slice(0, limit);
        return { data, nextCursor: found.rows.length > limit ? encodeCursor({ offset: offset + limit }) : null, partial: found.partial };
      }
      const before = filter.listId !== undefined ? decodeCursor(cursor, PositionCursor) : decodeCursor(cursor, CreatedCursor);
      const rows = await tasks.listTasks(deps, orgId, filter, before, limit + 1);
      const out = page(rows, limit, (t) => (filter.listId !== undefined
        ? { position: t.position ?? 0 }
        : { createdAt: new Date(t.createdAt).toISOString(), id: t.id }));
      return { ...out, partial: false };
    });

    r.get('/v1/tasks/summary', {
      config: { permission: 'tasks:read' },
      schema: {
        tags: ['tasks'],
        summary: "A member's activity (seed 004 user_activity_summary), computed now: tasks, projects, lists, completed, "
          + 'created in the last 30 days, overdue, and the last change',
        querystring: z.strictObject({ userId: Uuid.optional().describe('another member; default you') }),
      },
    }, async (req) => {
      const p = principal(req);
      const userId = req.query.userId ?? p.userId;
      if (!userId) throw badRequest('an API key has no user of its own: send userId', { field: 'userId' });
      return tasks.summary(deps, p.orgId, userId, userId === p.userId);
    });

    r.get('/v1/tasks/:id', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tasks'], summary: 'One task', params: IdParams },
    }, async (req) => tasks.getTask(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/tasks/:id', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Change a task (optimistic lock: send the version you read); completed sets completedAt. Move it with /move',
        params: IdParams,
        body: z.strictObject({
          version: Version,
          title: Name(500).optional().describe('1..500 characters'),
          description: Description.nullable().optional().describe('free text; null clears it'),
          status: Status.optional().describe('todo, in_progress, blocked, completed or cancelled'),
          priority: Priority.optional().describe('0 none, 1 low, 2 medium, 3 high, 4 urgent'),
          dueDate: DueDate.nullable().optional().describe('YYYY-MM-DD; null clears it'),
          userId: Uuid.optional().describe('its owner, a member of the organization'),
          projectId: Uuid.nullable().optional().describe('its project (a task in a list keeps the list\'s)'),
        }).refine(changesSomething, NOTHING_TO_CHANGE),
      },
    }, async (req) => tasks.updateTask(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/tasks/:id', {
      config: { permission: 'tasks:write' },
      schema: { tags: ['tasks'], summary: 'Delete a task (soft delete); the tasks after it in its list move up one', params: IdParams },
    }, async (req, reply) => {
      await tasks.deleteTask(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

    r.post('/v1/tasks/:id/move', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Move a task within its list or into another; positions stay 0..n-1 in both lists',
        params: IdParams,
        body: z.strictObject({
          listId: Uuid.optional().describe('the list to move it into; default its own'),
          position: Position.describe('0-based place; past the end means last'),
          version: Version.optional(),
        }),
      },
    }, async (req) => moveTask(deps, actor(req), req.params.id, req.body));
  };
}
