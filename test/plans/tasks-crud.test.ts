import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, createList, createProject, createTask, ok, type Body } from './tasks-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
  other = await signupUser(t.app);
  c = client(t);
});
afterAll(async () => t?.close());

describe('projects', () => {
  it('creates, reads, lists, patches with a version and soft-deletes, with an audit row each', async () => {
    const p = await createProject(t, owner.auth, { description: 'Q3', color: '#3B82F6' });
    expect(p).toMatchObject({ name: 'Website relaunch', description: 'Q3', color: '#3B82F6', archivedAt: null, version: 1, userId: owner.userId });
    expect(ok(await c.get(`/v1/projects/${p.id}`, owner.auth))).toEqual(p);
    expect(ok(await c.get('/v1/projects', owner.auth)).data.map((x: Body) => x.id)).toContain(p.id);

    const p2 = ok(await c.patch(`/v1/projects/${p.id}`, owner.auth, { version: 1, name: ' Relaunch ', archived: true }));
    expect(p2).toMatchObject({ name: 'Relaunch', version: 2, description: 'Q3' });
    expect(p2.archivedAt).not.toBeNull();
    expect(ok(await c.get('/v1/projects', owner.auth)).data.map((x: Body) => x.id)).not.toContain(p.id);
    expect(ok(await c.get('/v1/projects?archived=true', owner.auth)).data.map((x: Body) => x.id)).toContain(p.id);

    const stale = await c.patch(`/v1/projects/${p.id}`, owner.auth, { version: 1, name: 'Mine' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');

    ok(await c.del(`/v1/projects/${p.id}`, owner.auth), 204);
    expect(errorOf(await c.get(`/v1/projects/${p.id}`, owner.auth)).code).toBe('not_found');
    expect((await auditRows(t, owner.orgId, p.id)).map((a) => a.action)).toEqual(['project.created', 'project.updated', 'project.deleted']);
  });

  it('pages with a cursor, newest first', async () => {
    const u = await signupUser(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createProject(t, u.auth, { name: `P${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const pg: Body = ok(await c.get(`/v1/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`, u.auth));
      seen.push(...pg.data.map((x: Body) => x.id));
      cursor = pg.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('deleting a project deletes its lists and their tasks', async () => {
    const p = await createProject(t, owner.auth);
    const l = await createList(t, owner.auth, { projectId: p.id });
    const task = await createTask(t, owner.auth, { listId: l.id });
    expect(task.projectId).toBe(p.id);
    ok(await c.del(`/v1/projects/${p.id}`, owner.auth), 204);
    expect(errorOf(await c.get(`/v1/lists/${l.id}`, owner.auth)).code).toBe('not_found');
    expect(errorOf(await c.get(`/v1/tasks/${task.id}`, owner.auth)).code).toBe('not_found');
  });
});

describe('lists', () => {
  it('creates in a project, filters by project, patches and deletes with its tasks', async () => {
    const p = await createProject(t, owner.auth);
    const l = await createList(t, owner.auth, { projectId: p.id, listOrder: 2 });
    const loose = await createList(t, owner.auth, { name: 'Inbox' });
    expect(l).toMatchObject({ projectId: p.id, listOrder: 2, version: 1 });
    expect(loose.projectId).toBeNull();
    expect(ok(await c.get(`/v1/lists?projectId=${p.id}`, owner.auth)).data.map((x: Body) => x.id)).toEqual([l.id]);

    const task = await createTask(t, owner.auth, { listId: loose.id });
    const moved = ok(await c.patch(`/v1/lists/${loose.id}`, owner.auth, { version: 1, projectId: p.id, name: 'Inbox 2' }));
    expect(moved).toMatchObject({ projectId: p.id, name: 'Inbox 2', version: 2 });
    expect(ok(await c.get(`/v1/tasks/${task.id}`, owner.auth)).projectId).toBe(p.id);
    expect(errorOf(await c.patch(`/v1/lists/${loose.id}`, owner.auth, { version: 1, name: 'x' })).code).toBe('version_conflict');

    ok(await c.del(`/v1/lists/${loose.id}`, owner.auth), 204);
    expect(errorOf(await c.get(`/v1/tasks/${task.id}`, owner.auth)).code).toBe('not_found');
    expect((await auditRows(t, owner.orgId, loose.id)).map((a) => a.action)).toEqual(['list.created', 'list.updated', 'list.deleted']);
  });
});

describe('tasks', () => {
  it('creates with defaults, patches fields, completes and reopens (completedAt follows), soft-deletes', async () => {
    const task = await createTask(t, owner.auth);
    expect(task).toMatchObject({ status: 'todo', priority: 0, dueDate: null, listId: null, position: null, completedAt: null, version: 1, userId: owner.userId });
    const done = ok(await c.patch(`/v1/tasks/${task.id}`, owner.auth, { version: 1, status: 'completed', priority: 3, dueDate: '2026-01-31' }));
    expect(done).toMatchObject({ status: 'completed', priority: 3, dueDate: '2026-01-31', version: 2 });
    expect(done.completedAt).not.toBeNull();
    const still = ok(await c.patch(`/v1/tasks/${task.id}`, owner.auth, { version: 2, title: 'Renamed' }));
    expect(still.completedAt).toBe(done.completedAt);
    const reopened = ok(await c.patch(`/v1/tasks/${task.id}`, owner.auth, { version: 3, status: 'in_progress', description: null }));
    expect(reopened).toMatchObject({ completedAt: null, status: 'in_progress' });
    const stale = await c.patch(`/v1/tasks/${task.id}`, owner.auth, { version: 3, title: 'Lost' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    ok(await c.del(`/v1/tasks/${task.id}`, owner.auth), 204);
    expect(errorOf(await c.get(`/v1/tasks/${task.id}`, owner.auth)).code).toBe('not_found');
    expect(errorOf(await c.del(`/v1/tasks/${task.id}`, owner.auth)).code).toBe('not_found');
    expect((await auditRows(t, owner.orgId, task.id)).map((a) => a.action)).toEqual(['task.created', 'task.updated', 'task.updated', 'task.updated', 'task.deleted']);
  });

  it('filters by status, project, user, due date and overdue', async () => {
    const u = await signupUser(t.app);
    const member = await joinAs(t, u, 'member');
    const p = await createProject(t, u.auth);
    const a = await createTask(t, u.auth, { title: 'Old bug', dueDate: '2020-01-01', projectId: p.id });
    const b = await createTask(t, u.auth, { title: 'Done long ago', dueDate: '2020-01-01', status: 'completed' });
    const cc = await createTask(t, u.auth, { title: 'Future', dueDate: '2999-01-01', userId: member.userId, priority: 4 });
    const ids = async (qs: string) => ok(await c.get(`/v1/tasks?${qs}`, u.auth)).data.map((x: Body) => x.id);
    expect(await ids('')).toEqual([cc.id, b.id, a.id]);
    expect(await ids('overdue=true')).toEqual([a.id]);
    expect(await ids('status=completed')).toEqual([b.id]);
    expect(await ids(`projectId=${p.id}`)).toEqual([a.id]);
    expect(await ids(`userId=${member.userId}`)).toEqual([cc.id]);
    expect(await ids('dueBefore=2021-01-01')).toEqual([b.id, a.id]);
    expect(ok(await c.get(`/v1/tasks/${cc.id}`, member.auth)).userId).toBe(member.userId);
  });

  it('summarises a member: tasks, projects, lists, completed, recent, overdue, last activity', async () => {
    const u = await signupUser(t.app);
    const viewer = await joinAs(t, u, 'viewer');
    await createProject(t, u.auth);
    await createList(t, u.auth);
    await createTask(t, u.auth, { dueDate: '2020-01-01' });
    await createTask(t, u.auth, { status: 'completed' });
    const s = ok(await c.get('/v1/tasks/summary', u.auth));
    expect(s).toMatchObject({ userId: u.userId, totalTasks: 2, totalProjects: 1, totalLists: 1, completedTasks: 1, recentTasks: 2, overdueTasks: 1 });
    expect(new Date(s.lastActivity).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(ok(await c.get(`/v1/tasks/summary?userId=${u.userId}`, viewer.auth))).toEqual(s);
    expect(ok(await c.get('/v1/tasks/summary', viewer.auth))).toMatchObject({ totalTasks: 0, lastActivity: null });
    // someone of another organization is not a member here
    expect((await c.get(`/v1/tasks/summary?userId=${other.userId}`, u.auth)).statusCode).toBe(404);
  });

  it('viewers read but cannot write', async () => {
    const u = await signupUser(t.app);
    const viewer = await joinAs(t, u, 'viewer');
    await createTask(t, u.auth);
    expect(ok(await c.get('/v1/tasks', viewer.auth)).data).toHaveLength(1);
    const res = await c.post('/v1/tasks', viewer.auth, { title: 'Nope' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
  });
});

describe('tenancy', () => {
  it("another organization gets 404 on every id and empty lists; RLS hides the rows at the database too", async () => {
    const p = await createProject(t, owner.auth, { name: 'Secret zebra project' });
    const l = await createList(t, owner.auth, { projectId: p.id });
    const task = await createTask(t, owner.auth, { listId: l.id, title: 'Secret zebra task' });
    for (const url of [`/v1/projects/${p.id}`, `/v1/lists/${l.id}`, `/v1/tasks/${task.id}`]) {
      expect(errorOf(await c.get(url, other.auth)).code).toBe('not_found');
      expect((await c.del(url, other.auth)).statusCode).toBe(404);
    }
    expect((await c.patch(`/v1/tasks/${task.id}`, other.auth, { version: 1, title: 'x' })).statusCode).toBe(404);
    expect((await c.post(`/v1/tasks/${task.id}/move`, other.auth, { position: 0 })).statusCode).toBe(404);
    expect((await c.post('/v1/tasks', other.auth, { title: 'x', listId: l.id })).statusCode).toBe(404);
    expect((await c.post('/v1/lists', other.auth, { name: 'x', projectId: p.id })).statusCode).toBe(404);
    expect(ok(await c.get('/v1/projects', other.auth)).data.map((x: Body) => x.id)).not.toContain(p.id);
    expect(ok(await c.get('/v1/lists', other.auth)).data).toEqual([]);
    expect(ok(await c.get(`/v1/tasks?listId=${l.id}`, other.auth)).data).toEqual([]);
    expect(ok(await c.get('/v1/tasks?q=zebra', other.auth)).data).toEqual([]);
    for (const table of ['projects', 'lists', 'tasks']) {
      const n = await t.db.tenant(other.orgId, async (sql) => (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [owner.orgId])).rows[0]!.n);
      expect(n, table).toBe(0);
    }
  });
});
