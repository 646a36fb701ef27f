import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from './run-fixtures.js';

/**
 * The task tools: an agent creates a project with lists and tasks, moves a
 * task and searches the board, through the same services as /v1/tasks (so
 * positions stay dense and every write is audited); a bad call is an error
 * the model sees and writes nothing.
 */
let rt: RuntimeTest;
beforeAll(async () => {
  rt = await runtimeApp();
});
afterAll(async () => rt?.close());

const count = async (table: string) => (await rt.t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe('task tools', () => {
  it('create a project with lists and tasks, move them (by id, and by title into a list by name), and find one again', async () => {
    rt.scripts.write('planner', [
      {
        expect: { tools: ['task_project_create', 'task_move', 'task_search'] },
        toolCalls: [{ name: 'task_project_create', arguments: { name: 'Website relaunch', lists: [
          { name: 'To do', tasks: [{ title: 'Write the copy', priority: 2 }, { title: 'Design the landing page', priority: 3 }, { title: 'Set up analytics' }] },
          { name: 'Done', tasks: [] },
        ] } }],
      },
      { expect: { lastRole: 'tool', lastContains: 'projectId' }, content: 'created' },
    ]);
    const agent = await scriptedAgent(rt.t, rt.owner.auth, 'planner', { tools: ['task_project_create', 'task_move', 'task_search'] });
    const run = ok(await runAgent(rt.t, rt.owner.auth, agent.id, { input: 'Plan the relaunch' }));
    expect(run.status).toBe('completed');
    const detail = ok(await call(rt.t, 'GET', `/v1/executions/${run.id}`, rt.owner.auth));
    const created = detail.spans.find((s: { name: string }) => s.name === 'task_project_create').output;
    const [todo, done] = created.lists;
    expect(todo.tasks.map((x: { position: number }) => x.position)).toEqual([0, 1, 2]);
    const design = todo.tasks[1].id as string;

    rt.scripts.write('mover', [
      { toolCalls: [{ name: 'task_move', arguments: { taskId: design, position: 0 } }, { name: 'task_move', arguments: { title: 'set up analytics', listName: 'Done', position: 0 } }] },
      { toolCalls: [{ name: 'task_search', arguments: { query: 'landing design' } }] },
      { expect: { lastRole: 'tool', lastContains: 'Design the landing page' }, content: 'moved and found' },
    ]);
    const mover = await scriptedAgent(rt.t, rt.owner.auth, 'mover', { tools: ['task_move', 'task_search'] });
    expect(ok(await runAgent(rt.t, rt.owner.auth, mover.id, { input: 'Design first' })).status).toBe('completed');
    const inTodo = ok(await call(rt.t, 'GET', `/v1/tasks?listId=${todo.id}`, rt.owner.auth)).data;
    expect(inTodo.map((x: { title: string; position: number }) => [x.position, x.title])).toEqual([[0, 'Design the landing page'], [1, 'Write the copy']]);
    const inDone = ok(await call(rt.t, 'GET', `/v1/tasks?listId=${done.id}`, rt.owner.auth)).data;
    expect(inDone.map((x: { title: string }) => x.title)).toEqual(['Set up analytics']);
    expect(inTodo[0].userId).toBe(rt.owner.userId);
  });

  it('answer a bad call with an error the model sees, and write nothing', async () => {
    const before = await count('projects');
    rt.scripts.write('bad-planner', [
      { toolCalls: [{ name: 'task_project_create', arguments: { name: 'x', lists: [] } }] },
      { expect: { lastRole: 'tool', lastContains: 'not valid' }, toolCalls: [{ name: 'task_move', arguments: { taskId: '00000000-0000-4000-8000-000000000000', position: 0 } }] },
      { expect: { lastRole: 'tool', lastContains: 'does not exist' }, toolCalls: [{ name: 'task_move', arguments: { title: 'No such task anywhere', position: 0 } }] },
      { expect: { lastRole: 'tool', lastContains: 'no task titled' }, content: 'gave up' },
    ]);
    const agent = await scriptedAgent(rt.t, rt.owner.auth, 'bad-planner', { tools: ['task_project_create', 'task_move'] });
    expect(ok(await runAgent(rt.t, rt.owner.auth, agent.id, { input: 'Plan' })).status).toBe('completed');
    expect(await count('projects')).toBe(before);
  });
});
