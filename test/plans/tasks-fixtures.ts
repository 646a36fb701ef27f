import { client, ok, type Auth, type Body } from '../agents/fixtures.js';
import type { TestApp } from '../helpers/app.js';

export { client, ok, type Auth, type Body };

export const TASK_TABLES = ['projects', 'lists', 'tasks', 'audit_logs'] as const;

/** Row counts of every table the task routes write, across tenants. */
export async function taskCounts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TASK_TABLES) {
    out[table] = (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
  }
  return out;
}

export async function createProject(t: TestApp, auth: Auth, over: Record<string, unknown> = {}): Promise<Body> {
  return ok(await client(t).post('/v1/projects', auth, { name: 'Website relaunch', ...over }), 201);
}

export async function createList(t: TestApp, auth: Auth, over: Record<string, unknown> = {}): Promise<Body> {
  return ok(await client(t).post('/v1/lists', auth, { name: 'Backlog', ...over }), 201);
}

export async function createTask(t: TestApp, auth: Auth, over: Record<string, unknown> = {}): Promise<Body> {
  return ok(await client(t).post('/v1/tasks', auth, { title: 'Write the release notes', ...over }), 201);
}

/** The live tasks of a list as the owner sees them: [id, position] in position order. */
export async function positions(t: TestApp, listId: string): Promise<{ id: string; position: number }[]> {
  const r = await t.db.admin.query<{ id: string; position: number }>(
    `SELECT id, position_in_list AS position FROM tasks WHERE list_id = $1 AND deleted_at IS NULL ORDER BY position_in_list, id`,
    [listId],
  );
  return r.rows;
}

/** Asserts positions are exactly 0..n-1 and returns the ids in order. */
export async function denseIds(t: TestApp, listId: string): Promise<string[]> {
  const rows = await positions(t, listId);
  const got = rows.map((r) => r.position);
  const want = rows.map((_, i) => i);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`positions of list ${listId} are ${JSON.stringify(got)}, not 0..${rows.length - 1}`);
  return rows.map((r) => r.id);
}
