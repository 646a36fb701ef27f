import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, createList, createProject, createTask, taskCounts, type Body } from './tasks-fixtures.js';

/** Every route refuses bad input with a 4xx and a stable code, and writes nothing. */
let t: TestApp;
let u: SignedUp;
let c: ReturnType<typeof client>;
let project: Body;
let list: Body;
let task: Body;
const NOPE = '01900000-0000-7000-8000-000000000000';
beforeAll(async () => {
  t = await createTestApp();
  u = await signupUser(t.app);
  c = client(t);
  project = await createProject(t, u.auth);
  list = await createList(t, u.auth, { projectId: project.id });
  task = await createTask(t, u.auth, { listId: list.id });
});
afterAll(async () => t?.close());

type Case = [name: string, send: () => ReturnType<typeof c.get>, status: number, code: string];
const cases = (): Case[] => [
  ['POST /v1/projects blank name', () => c.post('/v1/projects', u.auth, { name: '   ' }), 400, 'validation_failed'],
  ['POST /v1/projects bad colour', () => c.post('/v1/projects', u.auth, { name: 'x', color: 'blue' }), 400, 'validation_failed'],
  ['POST /v1/projects unknown field', () => c.post('/v1/projects', u.auth, { name: 'x', owner: 'me' }), 400, 'validation_failed'],
  ['GET /v1/projects bad cursor', () => c.get('/v1/projects?cursor=nonsense', u.auth), 400, 'bad_request'],
  ['GET /v1/projects/{id} not a uuid', () => c.get('/v1/projects/42', u.auth), 400, 'validation_failed'],
  ['PATCH /v1/projects/{id} no version', () => c.patch(`/v1/projects/${project.id}`, u.auth, { name: 'x' }), 400, 'validation_failed'],
  ['PATCH /v1/projects/{id} nothing to change', () => c.patch(`/v1/projects/${project.id}`, u.auth, { version: 1 }), 400, 'validation_failed'],
  ['PATCH /v1/projects/{id} stale', () => c.patch(`/v1/projects/${project.id}`, u.auth, { version: 9, name: 'x' }), 409, 'version_conflict'],
  ['DELETE /v1/projects/{id} missing', () => c.del(`/v1/projects/${NOPE}`, u.auth), 404, 'not_found'],
  ['POST /v1/lists missing project', () => c.post('/v1/lists', u.auth, { name: 'x', projectId: NOPE }), 404, 'not_found'],
  ['POST /v1/lists negative order', () => c.post('/v1/lists', u.auth, { name: 'x', listOrder: -1 }), 400, 'validation_failed'],
  ['GET /v1/lists bad projectId', () => c.get('/v1/lists?projectId=abc', u.auth), 400, 'validation_failed'],
  ['GET /v1/lists/{id} missing', () => c.get(`/v1/lists/${NOPE}`, u.auth), 404, 'not_found'],
  ['PATCH /v1/lists/{id} missing project', () => c.patch(`/v1/lists/${list.id}`, u.auth, { version: 1, projectId: NOPE }), 404, 'not_found'],
  ['DELETE /v1/lists/{id} missing', () => c.del(`/v1/lists/${NOPE}`, u.auth), 404, 'not_found'],
  ['POST /v1/tasks title too long', () => c.post('/v1/tasks', u.auth, { title: 'x'.repeat(501) }), 400, 'validation_failed'],
  ['POST /v1/tasks bad status', () => c.post('/v1/tasks', u.auth, { title: 'x', status: 'done' }), 400, 'validation_failed'],
  ['POST /v1/tasks priority 5', () => c.post('/v1/tasks', u.auth, { title: 'x', priority: 5 }), 400, 'validation_failed'],
  ['POST /v1/tasks bad date', () => c.post('/v1/tasks', u.auth, { title: 'x', dueDate: '2026-02-30' }), 400, 'validation_failed'],
  ['POST /v1/tasks missing list', () => c.post('/v1/tasks', u.auth, { title: 'x', listId: NOPE }), 404, 'not_found'],
  ['POST /v1/tasks position without list', () => c.post('/v1/tasks', u.auth, { title: 'x', position: 0 }), 400, 'bad_request'],
  ['POST /v1/tasks project other than the list\'s', () => c.post('/v1/tasks', u.auth, { title: 'x', listId: list.id, projectId: null }), 400, 'bad_request'],
  ['POST /v1/tasks owner not a member', () => c.post('/v1/tasks', u.auth, { title: 'x', userId: NOPE }), 400, 'bad_request'],
  ['GET /v1/tasks blank q', () => c.get('/v1/tasks?q=%20', u.auth), 400, 'validation_failed'],
  ['GET /v1/tasks overdue=yes', () => c.get('/v1/tasks?overdue=yes', u.auth), 400, 'validation_failed'],
  ['GET /v1/tasks bad cursor for a list', () => c.get(`/v1/tasks?listId=${list.id}&cursor=e30`, u.auth), 400, 'bad_request'],
  ['GET /v1/tasks/summary bad userId', () => c.get('/v1/tasks/summary?userId=x', u.auth), 400, 'validation_failed'],
  ['GET /v1/tasks/summary not a member', () => c.get(`/v1/tasks/summary?userId=${NOPE}`, u.auth), 404, 'not_found'],
  ['GET /v1/tasks/{id} missing', () => c.get(`/v1/tasks/${NOPE}`, u.auth), 404, 'not_found'],
  ['PATCH /v1/tasks/{id} stale', () => c.patch(`/v1/tasks/${task.id}`, u.auth, { version: 7, title: 'x' }), 409, 'version_conflict'],
  ['PATCH /v1/tasks/{id} project other than the list\'s', () => c.patch(`/v1/tasks/${task.id}`, u.auth, { version: 1, projectId: null }), 400, 'bad_request'],
  ['PATCH /v1/tasks/{id} listId is for /move', () => c.patch(`/v1/tasks/${task.id}`, u.auth, { version: 1, listId: list.id }), 400, 'validation_failed'],
  ['DELETE /v1/tasks/{id} missing', () => c.del(`/v1/tasks/${NOPE}`, u.auth), 404, 'not_found'],
  ['POST /v1/tasks/{id}/move no position', () => c.post(`/v1/tasks/${task.id}/move`, u.auth, {}), 400, 'validation_failed'],
  ['POST /v1/tasks/{id}/move negative', () => c.post(`/v1/tasks/${task.id}/move`, u.auth, { position: -1 }), 400, 'validation_failed'],
  ['POST /v1/tasks/{id}/move stale', () => c.post(`/v1/tasks/${task.id}/move`, u.auth, { position: 0, version: 5 }), 409, 'version_conflict'],
  ['POST /v1/tasks/{id}/move missing list', () => c.post(`/v1/tasks/${task.id}/move`, u.auth, { position: 0, listId: NOPE }), 404, 'not_found'],
];

describe('bad input', () => {
  it.each(cases().map((x, i) => [x[0], i] as const))('%s', async (_name, i) => {
    const [, send, status, code] = cases()[i]!;
    const before = await taskCounts(t);
    const res = await send();
    expect(res.statusCode, res.body).toBe(status);
    expect(errorOf(res).code).toBe(code);
    expect(await taskCounts(t)).toEqual(before);
  });
});
