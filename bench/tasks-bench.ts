import { parseConfig } from '../src/config/index.js';
import type { Database } from '../src/db/index.js';
import { getTask, listTasks, moveTask, searchTasks } from '../src/plans/index.js';
import { createService } from '../src/server.js';
import { benchDatabase, envNumber, fmt, stats, type Stats } from './bench-db.js';
import { benchOrg } from './bench-org.js';
import { rng, VOCAB, zipf } from './memory-data.js';

/**
 * `tasks`: seed 004's projects, lists and tasks at scale. One organization
 * holds BENCH_TASK_ROWS tasks (default 1,000,000) of ~1,000 members in 100
 * projects × 10 lists, a second one a tenth as many (both in the same
 * indexes), bulk-loaded as the owner with INSERT … SELECT generate_series.
 * Titles and descriptions draw, by Zipf rank, from ~450 everyday words and
 * 20,000 generated terms, so a word is in a few per cent of the tasks at most.
 *
 * Measured through the service functions under the tenant (RLS on, no HTTP):
 * GET /v1/tasks?q= (searchTasks: task_text_hits + read-back), a task by id,
 * a member's overdue tasks, and a move within a list of ~1,000 tasks — against
 * a baseline in the same run: the same search as a plain query under RLS,
 * where @@ is not leakproof and the GIN index cannot be used.
 */

const SYLLABLES = 'ka lo mi ren tu sa vor pel din gra shu ne bo li tor fen zu qua mar ost bel cor dra ely fin gos hal'.split(' ');
const TERMS = Array.from({ length: 20_000 }, (_, i) => {
  let n = i + SYLLABLES.length * SYLLABLES.length;
  let w = '';
  while (n > 0) {
    w += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  }
  return w;
});
const VERBS = `fix write review update call email send prepare book plan clean buy order schedule draft test deploy refactor
  migrate document design measure renew pay cancel confirm print ship pack sign approve`.split(/\s+/);
const LIMIT = 20;

type Admin = Database['admin'];

async function loadOrg(admin: Admin, orgId: string, ownerId: string, o: { tasks: number; users: number; projects: number; lists: number; tag: string }, log: (s: string) => void) {
  await admin.query(
    `WITH u AS (INSERT INTO users (id, email, username)
       SELECT gen_random_uuid(), 'bench-' || $2 || '-' || i || '@example.com', 'bench_' || $2 || '_' || i FROM generate_series(1, $3) i RETURNING id)
     INSERT INTO memberships (org_id, user_id) SELECT $1, id FROM u`,
    [orgId, o.tag, o.users - 1],
  );
  await admin.query(
    `INSERT INTO projects (id, org_id, user_id, name, description)
     SELECT gen_random_uuid(), $1, $2, 'Project ' || i, 'Bench project ' || i FROM generate_series(1, $3) i`,
    [orgId, ownerId, o.projects],
  );
  await admin.query(
    `INSERT INTO lists (id, org_id, user_id, project_id, name, list_order)
     SELECT gen_random_uuid(), $1, $2, p.id, 'List ' || k, k FROM projects p, generate_series(0, $3 - 1) k WHERE p.org_id = $1`,
    [orgId, ownerId, o.lists / o.projects],
  );
  await admin.query(`CREATE TEMP TABLE IF NOT EXISTS bench_lists (n int PRIMARY KEY, id uuid, project_id uuid)`);
  await admin.query(`TRUNCATE bench_lists`);
  await admin.query(`INSERT INTO bench_lists SELECT (row_number() OVER (ORDER BY id)) - 1, id, project_id FROM lists WHERE org_id = $1`, [orgId]);
  await admin.query(`CREATE TEMP TABLE IF NOT EXISTS bench_users (n int PRIMARY KEY, id uuid)`);
  await admin.query(`TRUNCATE bench_users`);
  await admin.query(`INSERT INTO bench_users SELECT (row_number() OVER (ORDER BY user_id)) - 1, user_id FROM memberships WHERE org_id = $1`, [orgId]);
  const nLists = (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM bench_lists`)).rows[0]!.n;
  const nUsers = (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM bench_users`)).rows[0]!.n;
  const BATCH = 200_000;
  for (let start = 0; start < o.tasks; start += BATCH) {
    const end = Math.min(o.tasks, start + BATCH) - 1;
    // Task i is in list i % nLists at position i / nLists: dense by construction.
    await admin.query(
      `INSERT INTO tasks (id, org_id, user_id, project_id, list_id, title, description, status, priority, due_date,
         position_in_list, completed_at, created_at, updated_at)
       SELECT gen_random_uuid(), $1, u.id, l.project_id, l.id,
         initcap(($4::text[])[1 + (i::bigint * 7919) % cardinality($4::text[])]) || ' ' || ($5::text[])[1 + floor(power(cardinality($5::text[]) + 1, random()) - 1)::int % cardinality($5::text[])]
           || ' ' || ($6::text[])[1 + floor(power(cardinality($6::text[]) + 1, random()) - 1)::int % cardinality($6::text[])],
         (SELECT string_agg(CASE WHEN random() < 0.5 THEN ($5::text[])[1 + floor(power(cardinality($5::text[]) + 1, random()) - 1)::int % cardinality($5::text[])]
                                 ELSE ($6::text[])[1 + floor(power(cardinality($6::text[]) + 1, random()) - 1)::int % cardinality($6::text[])] END, ' ')
            FROM generate_series(1, 6 + (i % 8)) w WHERE i IS NOT NULL),
         s.status, (i % 5)::smallint,
         CASE WHEN i % 3 = 0 THEN current_date + ((i % 120) - 60) END,
         i / $7, CASE WHEN s.status = 'completed' THEN now() END,
         now() - make_interval(secs => (i % 8000000)), now() - make_interval(secs => (i % 4000000))
       FROM generate_series($2::int, $3::int) i
       JOIN bench_lists l ON l.n = i % $7
       JOIN bench_users u ON u.n = (i::bigint * 31) % $8
       CROSS JOIN LATERAL (SELECT (ARRAY['todo', 'todo', 'in_progress', 'blocked', 'completed', 'completed', 'cancelled'])[1 + i % 7] AS status) s`,
      [orgId, start, end, VERBS, VOCAB, TERMS, nLists, nUsers],
    );
    log(`… ${end + 1} tasks (${o.tag})`);
  }
}

/**
 * What a person types into a task search: a specific word (any of the
 * generated terms, uniformly: people search for the word that names the
 * thing, not for the most frequent one), half the time with an everyday word
 * as well (websearch ANDs them, which narrows). Single everyday words, which
 * match a large share of any task board, are the broad case the ranking cap
 * (TASK_RANK_MAX) is for; one query in ten is one.
 */
function query(r: () => number): string {
  const everyday = () => VOCAB[zipf(r, VOCAB.length)]!;
  const x = r();
  if (x < 0.1) return everyday();
  const term = TERMS[Math.floor(r() * TERMS.length)]!;
  return x < 0.55 ? term : `${term} ${everyday()}`;
}

export async function tasksBench(): Promise<string> {
  const o = {
    tasks: envNumber('BENCH_TASK_ROWS', 1_000_000),
    users: Math.max(2, envNumber('BENCH_TASK_USERS', 1000)),
    queries: Math.max(1, envNumber('BENCH_TASK_QUERIES', 300)),
    baseline: Math.max(1, envNumber('BENCH_TASK_BASELINE_QUERIES', 30)),
    keep: process.env.BENCH_KEEP === '1',
  };
  const log = (s: string) => process.stderr.write(`[tasks] ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const b = await benchDatabase({ log, dropOnSignal: !o.keep });
  let close = async () => {};
  try {
    const config = parseConfig({ DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed' });
    const svc = await createService(config, b.db, false);
    close = () => svc.close();
    const deps = { db: b.db };
    const orgA = await benchOrg(svc.app, b.db, { name: 'Tasks Bench', agents: 0 });
    const orgB = await benchOrg(svc.app, b.db, { name: 'Tasks Bench Other', agents: 0 });
    const t0 = performance.now();
    await loadOrg(b.db.admin, orgA.orgId, orgA.userId, { tasks: o.tasks, users: o.users, projects: 100, lists: 1000, tag: 'a' }, log);
    await loadOrg(b.db.admin, orgB.orgId, orgB.userId, { tasks: Math.ceil(o.tasks / 10), users: 100, projects: 10, lists: 100, tag: 'b' }, log);
    await b.db.admin.query('VACUUM ANALYZE tasks');
    await b.db.admin.query('ANALYZE projects');
    await b.db.admin.query('ANALYZE lists');
    await b.db.admin.query('ANALYZE memberships');
    const loadS = (performance.now() - t0) / 1000;
    log(`loaded in ${loadS.toFixed(0)} s`);
    const orgId = orgA.orgId;
    const actor = { orgId, actorType: 'user' as const, userId: orgA.userId };

    const r = rng(7);
    const qs = Array.from({ length: o.queries + 20 }, () => query(r));
    const plan = await b.db.tenant(orgId, async (sql) => (await sql.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE) SELECT * FROM task_text_hits($1, NULL, NULL, NULL, NULL, NULL, false, $2, 1000)`, [qs[0], LIMIT + 1])).rows.map((x) => x['QUERY PLAN']).join('\n'));
    const inner = await b.db.admin.transaction(async (sql) => {
      await sql.query(`SELECT set_config('role', 'agentbase_auth', true)`);
      return (await sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT t.id FROM tasks t WHERE t.org_id = $1 AND t.deleted_at IS NULL AND t.search_vector @@ websearch_to_tsquery('english', $2) LIMIT 1000`,
        [orgId, qs[0]])).rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    log(`plan of task_text_hits "${qs[0]!}":\n${plan}\ninner statement as its owner:\n${inner}`);

    // ---- full text through the product (definer function), after one untimed pass
    for (const q of qs.slice(0, 20)) await searchTasks(deps, orgId, q, {}, 0, LIMIT + 1);
    const ftsMs: number[] = [];
    const matches: number[] = [];
    let partial = 0;
    for (const q of qs.slice(20)) {
      const t = performance.now();
      const page = await searchTasks(deps, orgId, q, {}, 0, LIMIT + 1);
      ftsMs.push(performance.now() - t);
      if (page.partial) partial++;
      matches.push((await b.db.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE org_id = $1 AND search_vector @@ websearch_to_tsquery('english', $2)`, [orgId, q])).rows[0]!.n);
    }
    const fts = stats(ftsMs);
    log(`fts p50 ${fmt(fts.p50)} p95 ${fmt(fts.p95)}`);

    // ---- baseline: the same search as a plain statement under RLS (no definer function)
    const baseMs: number[] = [];
    for (const q of qs.slice(20, 20 + o.baseline)) {
      const t = performance.now();
      await b.db.tenant(orgId, (sql) => sql.query(
        `SELECT t.id, ts_rank(t.search_vector, websearch_to_tsquery('english', $2)) AS score FROM tasks t
         WHERE t.org_id = $1 AND t.deleted_at IS NULL AND t.search_vector @@ websearch_to_tsquery('english', $2)
         ORDER BY score DESC, t.id LIMIT $3`, [orgId, q, LIMIT + 1]));
      baseMs.push(performance.now() - t);
    }
    const base = stats(baseMs);
    log(`baseline p50 ${fmt(base.p50)} p95 ${fmt(base.p95)}`);

    // ---- by id
    const ids = (await b.db.admin.query<{ id: string; list_id: string }>(
      `SELECT id, list_id FROM tasks TABLESAMPLE SYSTEM (1) WHERE org_id = $1 LIMIT 3000`, [orgId])).rows;
    const byIdMs: number[] = [];
    for (const [i, x] of ids.entries()) {
      const t = performance.now();
      await getTask(deps, orgId, x.id);
      if (i >= 200) byIdMs.push(performance.now() - t);
    }
    const byId = stats(byIdMs);
    log(`by id p50 ${fmt(byId.p50)} p99 ${fmt(byId.p99)}`);

    // ---- a member's overdue tasks (idx_tasks_overdue)
    const users = (await b.db.admin.query<{ id: string }>(`SELECT user_id AS id FROM memberships WHERE org_id = $1 LIMIT 300`, [orgId])).rows;
    const overdueMs: number[] = [];
    for (const u of users) {
      const t = performance.now();
      await listTasks(deps, orgId, { userId: u.id, overdue: true }, undefined, LIMIT + 1);
      overdueMs.push(performance.now() - t);
    }
    const overdue = stats(overdueMs);

    // ---- moves within a list of ~1,000 tasks (shifts up to ~1,000 positions)
    const mr = rng(99);
    const moveMs: number[] = [];
    for (const x of ids.slice(0, 300)) {
      const t = performance.now();
      await moveTask(deps, actor, x.id, { position: Math.floor(mr() * 1000) });
      moveMs.push(performance.now() - t);
    }
    const move = stats(moveMs);
    const dense = (await b.db.admin.query<{ bad: number }>(
      `SELECT count(*)::int AS bad FROM (SELECT list_id, count(*) AS n, max(position_in_list) AS mx, count(DISTINCT position_in_list) AS d
         FROM tasks WHERE org_id = $1 AND list_id IS NOT NULL AND deleted_at IS NULL GROUP BY list_id) x WHERE mx <> n - 1 OR d <> n`, [orgId])).rows[0]!.bad;

    const n = (x: number) => Math.round(x).toLocaleString('en');
    const row = (name: string, s: Stats, target: string) => `| ${name} | ${n(s.n)} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${target} |`;
    const ms = stats(matches);
    const gin = /idx_tasks_search_text/.test(inner) ? 'Bitmap Index Scan on idx_tasks_search_text' : inner.split('\n')[0]!;
    return [
      '### Tasks (seed 004)',
      '',
      `${n(o.tasks)} tasks of ${n(o.users)} members in 100 projects × 10 lists, plus a second organization with ${n(Math.ceil(o.tasks / 10))};`,
      `loaded in ${loadS.toFixed(0)} s (owner INSERT … SELECT generate_series). Service functions under the tenant (RLS on, no HTTP), limit ${LIMIT}.`,
      `Search words: a generated term (uniform over 20,000), half the time AND an everyday word, and one query in ten a single everyday word; tasks matching per query p50 ${n(ms.p50)}, p95 ${n(ms.p95)}, p99 ${n(ms.p99)};`,
      `${partial} of ${o.queries} queries matched more than 1,000 tasks (ranked partially). Inner statement of task_text_hits: ${gin}.`,
      '',
      '| operation | n | p50 | p95 | p99 | target |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      row('GET /v1/tasks?q= (searchTasks, definer function)', fts, `p95 ≤ 20 ms: ${fts.p95 <= 20 ? 'met' : 'missed'}`),
      row('baseline: same search, plain query under RLS', base, `${(base.p50 / fts.p50).toFixed(1)}× the p50 above`),
      row('GET /v1/tasks/{id} (getTask)', byId, `p99 ≤ 5 ms: ${byId.p99 <= 5 ? 'met' : 'missed'}`),
      row("a member's overdue tasks (listTasks overdue=true)", overdue, '—'),
      row('POST /v1/tasks/{id}/move in a list of ~1,000', move, `—; lists with positions not 0..n-1 after: ${dense}`),
    ].join('\n');
  } finally {
    await close();
    await b.finish(o.keep);
  }
}
