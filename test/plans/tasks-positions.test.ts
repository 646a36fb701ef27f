import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, createList, createProject, createTask, denseIds, ok, type Body } from './tasks-fixtures.js';

/**
 * Positions in a list stay exactly 0..n-1 through creates, moves within and
 * between lists, and deletes — and under many concurrent moves (on
 * PostgreSQL really concurrent; PGlite has one connection and serialises).
 */
let t: TestApp;
let u: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  u = await signupUser(t.app);
  c = client(t);
});
afterAll(async () => t?.close());

async function fill(listId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createTask(t, u.auth, { listId, title: `Task ${i}` })).id);
  return ids;
}
const move = (id: string, body: Record<string, unknown>) => c.post(`/v1/tasks/${id}/move`, u.auth, body);

describe('positions', () => {
  it('appends at the end, inserts at a position, and a position past the end means last', async () => {
    const l = await createList(t, u.auth);
    const [a, b] = await fill(l.id, 2);
    const first = await createTask(t, u.auth, { listId: l.id, position: 0, title: 'First' });
    expect(first.position).toBe(0);
    const last = await createTask(t, u.auth, { listId: l.id, position: 99, title: 'Last' });
    expect(last.position).toBe(3);
    expect(await denseIds(t, l.id)).toEqual([first.id, a, b, last.id]);
    const listed = ok(await c.get(`/v1/tasks?listId=${l.id}&limit=3`, u.auth));
    expect(listed.data.map((x: Body) => x.id)).toEqual([first.id, a, b]);
    expect(ok(await c.get(`/v1/tasks?listId=${l.id}&cursor=${listed.nextCursor}`, u.auth)).data.map((x: Body) => x.id)).toEqual([last.id]);
  });

  it('moves within a list both ways, and between lists (taking the new list\'s project)', async () => {
    const p = await createProject(t, u.auth);
    const l1 = await createList(t, u.auth);
    const l2 = await createList(t, u.auth, { projectId: p.id });
    const [a, b, cc, d] = await fill(l1.id, 4);
    const [x, y] = await fill(l2.id, 2);
    const m1 = ok(await move(a!, { position: 2, version: 1 }));
    expect(m1).toMatchObject({ position: 2, version: 2, listId: l1.id });
    expect(await denseIds(t, l1.id)).toEqual([b, cc, a, d]);
    ok(await move(d!, { position: 0 }));
    expect(await denseIds(t, l1.id)).toEqual([d, b, cc, a]);
    const m3 = ok(await move(b!, { listId: l2.id, position: 1 }));
    expect(m3).toMatchObject({ listId: l2.id, position: 1, projectId: p.id });
    expect(await denseIds(t, l1.id)).toEqual([d, cc, a]);
    expect(await denseIds(t, l2.id)).toEqual([x, b, y]);
    // a stale version is refused and changes nothing
    const stale = await move(a!, { position: 0, version: 1 });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    expect(await denseIds(t, l1.id)).toEqual([d, cc, a]);
    // deleting closes the gap
    ok(await c.del(`/v1/tasks/${cc}`, u.auth), 204);
    expect(await denseIds(t, l1.id)).toEqual([d, a]);
    // a task in no list moves into one
    const loose = await createTask(t, u.auth, { title: 'Loose' });
    ok(await move(loose.id, { listId: l1.id, position: 1 }));
    expect(await denseIds(t, l1.id)).toEqual([d, loose.id, a]);
    expect((await auditRows(t, u.orgId, b)).map((r) => r.action)).toEqual(['task.created', 'task.moved']);
  });

  it('stays dense under 20 concurrent moves in one list and 20 across two lists', async () => {
    const l1 = await createList(t, u.auth);
    const l2 = await createList(t, u.auth);
    const ids1 = await fill(l1.id, 12);
    const ids2 = await fill(l2.id, 8);
    const all = [...ids1, ...ids2];
    const within = await Promise.all(ids1.concat(ids1.slice(0, 8)).map((id, i) => move(id, { position: (i * 7) % 12 })));
    for (const r of within) expect(r.statusCode, r.body).toBe(200);
    expect((await denseIds(t, l1.id)).sort()).toEqual([...ids1].sort());
    const across = await Promise.all(all.map((id, i) => move(id, { listId: i % 2 ? l1.id : l2.id, position: (i * 5) % 9 })));
    for (const r of across) expect(r.statusCode, r.body).toBe(200);
    const in1 = await denseIds(t, l1.id);
    const in2 = await denseIds(t, l2.id);
    expect(in1.length + in2.length).toBe(all.length);
    expect([...in1, ...in2].sort()).toEqual([...all].sort());
    // and concurrent creates into one list each get their own place
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => c.post('/v1/tasks', u.auth, { title: `C${i}`, listId: l1.id })));
    for (const r of created) expect(r.statusCode, r.body).toBe(201);
    expect(await denseIds(t, l1.id)).toHaveLength(in1.length + 10);
  });

  it('refuses a move to a list that does not exist, and one of a task in no list without listId', async () => {
    const loose = await createTask(t, u.auth);
    const none = await move(loose.id, { position: 0 });
    expect(none.statusCode).toBe(404);
    const missing = await move(loose.id, { position: 0, listId: '01900000-0000-7000-8000-000000000000' });
    expect(errorOf(missing).code).toBe('not_found');
    expect(ok(await c.get(`/v1/tasks/${loose.id}`, u.auth))).toMatchObject({ listId: null, position: null, version: 1 });
  });
});
