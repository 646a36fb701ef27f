/**
 * task_project_create / task_move / task_search: an agent works the
 * organization's task board (seed 004) through the plans module's task
 * services, so what it creates is what GET /v1/tasks shows, with the same
 * validation, dense list positions and audit rows. The tasks belong to the
 * user the run acts for; a run without one (a queued run started by no user)
 * gets an error saying so.
 */
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { createList, createProject, createTask, getTask, listLists, moveTask, searchTasks } from '../../plans/index.js';
import { isRunToolContext } from '../agent-loop.js';
import type { RuntimeDeps } from '../deps.js';
import type { RunnableTool } from '../run-tools.js';
import type { ToolContext, ToolOutcome } from '../tools/types.js';

const refuse = (error: string): ToolOutcome => ({ isError: true, output: { error } });
const Day = z.iso.date();
const Title = z.string().trim().min(1).max(500);

const ProjectArgs = z.strictObject({
  name: z.string().trim().min(1).max(255),
  description: z.string().max(10_000).optional(),
  lists: z.array(z.strictObject({
    name: z.string().trim().min(1).max(255),
    tasks: z.array(z.strictObject({
      title: Title,
      description: z.string().max(10_000).optional(),
      priority: z.number().int().min(0).max(4).optional(),
      dueDate: Day.optional(),
    })).max(100).default([]),
  })).min(1).max(20),
});
const MoveArgs = z.strictObject({
  taskId: z.uuid().optional(),
  title: Title.optional(),
  listId: z.uuid().optional(),
  listName: z.string().trim().min(1).max(255).optional(),
  position: z.number().int().min(0).max(1_000_000),
}).refine((a) => !!a.taskId !== !!a.title, { message: 'give taskId or title, one of them', path: ['taskId'] })
  .refine((a) => !(a.listId && a.listName), { message: 'give listId or listName, not both', path: ['listId'] });
const SearchArgs = z.strictObject({ query: z.string().trim().min(1).max(500), projectId: z.uuid().optional(), limit: z.number().int().min(1).max(50).optional() });

function invalid(e: z.ZodError, example: string): ToolOutcome {
  const i = e.issues[0]!;
  return refuse(`the arguments are not valid: ${i.path.join('.') || 'arguments'}: ${i.message}; send ${example}`);
}

/** The run's actor with the user its tasks belong to, or why there is none. */
function taskActor(ctx: ToolContext) {
  if (!isRunToolContext(ctx)) return 'task tools work only inside an agent run';
  const userId = ctx.frame.actor.userId ?? ctx.frame.userId;
  if (!userId) return 'this run acts for no user, and tasks belong to one; start the run with a user\'s token or API key';
  return { ...ctx.frame.actor, userId };
}

/** A refusal of the task service (an unknown list, a stale version) is the model's to act on. */
async function attempt(fn: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && err.status < 500) return refuse(err.message);
    throw err;
  }
}

/**
 * The newest live task with exactly this title (case aside), found through
 * the full-text index (an exact title shares all its words, so it ranks among
 * the first hits) instead of an index on titles that only this tool would use.
 */
async function taskByTitle(plans: { db: RuntimeDeps['db'] }, orgId: string, title: string) {
  const page = await searchTasks(plans, orgId, `"${title.replaceAll('"', ' ')}"`, {}, 0, 50);
  const exact = page.rows.filter((t) => t.title.trim().toLowerCase() === title.trim().toLowerCase());
  return exact.sort((a, b) => new Date(b.createdAt).getTime() - new Date(a.createdAt).getTime())[0];
}

export function taskTools(deps: RuntimeDeps): RunnableTool[] {
  const plans = { db: deps.db, ...(deps.now ? { now: deps.now } : {}) };
  return [
    {
      spec: {
        name: 'task_project_create',
        description: 'Create a project with its lists and their tasks in order, on the task board. Answers the ids of everything created.',
        parameters: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            lists: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  tasks: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        title: { type: 'string' }, description: { type: 'string' },
                        priority: { type: 'integer', description: '0 none, 1 low, 2 medium, 3 high, 4 urgent' },
                        dueDate: { type: 'string', description: 'YYYY-MM-DD' },
                      },
                      required: ['title'],
                    },
                  },
                },
                required: ['name'],
              },
            },
          },
          required: ['name', 'lists'],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const actor = taskActor(ctx);
        if (typeof actor === 'string') return refuse(actor);
        const p = ProjectArgs.safeParse(args);
        if (!p.success) return invalid(p.error, '{"name", "lists": [{"name", "tasks": [{"title"}]}]}');
        return attempt(async () => {
          const project = await createProject(plans, actor, { name: p.data.name, description: p.data.description ?? null });
          const lists = [];
          for (const [order, l] of p.data.lists.entries()) {
            const list = await createList(plans, actor, { name: l.name, projectId: project.id, listOrder: order });
            const tasks = [];
            for (const t of l.tasks) {
              const task = await createTask(plans, actor, { ...t, listId: list.id, projectId: project.id });
              tasks.push({ id: task.id, title: task.title, position: task.position });
            }
            lists.push({ id: list.id, name: list.name, tasks });
          }
          return { isError: false, output: { projectId: project.id, lists } };
        });
      },
    },
    {
      spec: {
        name: 'task_move',
        description: 'Move a task to a 0-based position in its list, or into another list of its project. Name the task by id, '
          + 'or by its exact title (the newest such task), and the list by id or by name.',
        parameters: {
          type: 'object',
          properties: {
            taskId: { type: 'string' }, title: { type: 'string' }, listId: { type: 'string' }, listName: { type: 'string' },
            position: { type: 'integer' },
          },
          required: ['position'],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        const actor = taskActor(ctx);
        if (typeof actor === 'string') return refuse(actor);
        const m = MoveArgs.safeParse(args);
        if (!m.success) return invalid(m.error, '{"taskId" or "title", "position", "listId" or "listName"?}');
        return attempt(async () => {
          const task = m.data.taskId ? await getTask(plans, actor.orgId, m.data.taskId) : await taskByTitle(plans, actor.orgId, m.data.title!);
          if (!task) return refuse(`there is no task titled ${JSON.stringify(m.data.title)}; task_search finds tasks by their words`);
          let listId = m.data.listId;
          if (m.data.listName) {
            const lists = await listLists(plans, actor.orgId, { projectId: task.projectId ?? undefined, limit: 100 });
            const named = lists.find((l) => l.name.toLowerCase() === m.data.listName!.toLowerCase());
            if (!named) return refuse(`the task's project has no list named ${JSON.stringify(m.data.listName)}; it has: ${lists.map((l) => l.name).join(', ')}`);
            listId = named.id;
          }
          const t = await moveTask(plans, actor, task.id, { listId, position: m.data.position });
          return { isError: false, output: { taskId: t.id, listId: t.listId, position: t.position } };
        });
      },
    },
    {
      spec: {
        name: 'task_search',
        description: 'Search the task board in web-search syntax ("design -draft", "\\"launch plan\\""), best matches first.',
        parameters: {
          type: 'object',
          properties: { query: { type: 'string' }, projectId: { type: 'string' }, limit: { type: 'integer' } },
          required: ['query'],
          additionalProperties: false,
        },
      },
      async run(args, ctx) {
        if (!isRunToolContext(ctx)) return refuse('task tools work only inside an agent run');
        const s = SearchArgs.safeParse(args);
        if (!s.success) return invalid(s.error, '{"query", "projectId"?}');
        return attempt(async () => {
          const page = await searchTasks(plans, ctx.orgId, s.data.query, { projectId: s.data.projectId }, 0, s.data.limit ?? 10);
          return { isError: false, output: { tasks: page.rows.map((h) => ({ id: h.id, title: h.title, listId: h.listId, status: h.status, score: h.score })) } };
        });
      },
    },
  ];
}
