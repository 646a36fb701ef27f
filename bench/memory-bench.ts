import { cpus, loadavg } from 'node:os';
import { parseConfig } from '../src/config/index.js';
import { saveMemories, searchAgent, type SearchMode } from '../src/memory/index.js';
import { listSessions } from '../src/memory/learning-sessions-service.js';
import { listPatterns } from '../src/memory/patterns-service.js';
import { spaceOf, type Space } from '../src/memory/space.js';
import { createService } from '../src/server.js';
import { benchDatabase, envNumber, fmt, stats, type Stats } from './bench-db.js';
import { benchOrg } from './bench-org.js';
import { bulkLoadMemories } from './memory-load.js';
import { memoryText, queryText, rng } from './memory-data.js';
import { knowledgeReport, measureKnowledge, type KnowledgeResult } from './memory-knowledge.js';
import { explainSearch, measureRecall, planSummary } from './memory-probes.js';

/**
 * Memory on server PostgreSQL (issue 12): writing memories, hybrid search at
 * scale, HNSW recall, knowledge full-text search. Everything measured goes
 * through the product's own functions (saveMemories, searchAgent,
 * searchMemories, searchKnowledge), so the SQL timed is the product's.
 *
 * Inserts: saveMemories in batches of BENCH_MEMORY_BATCH into an agent of their
 * own, with the hashed test embedder (hashed-ngram-256: what the database
 * costs, embedding being ~free) and with the bundled model (USE-lite 512-d,
 * embedded in the same call). On the near-empty table at the start; the hashed
 * figure again after each bulk load.
 *
 * Search: the table is bulk-loaded (INSERT … SELECT FROM unnest, not timed;
 * not the product's write path) up to each size in BENCH_MEMORY_ROWS, rows
 * spread round-robin over BENCH_MEMORY_AGENTS agents of one organization, with
 * generated text (bench/memory-data.ts) and vectors the product's hashed
 * embedder computes from it. The space's HNSW index is dropped before a load
 * and rebuilt after it by the product's memory_ensure_vector_index (timed: the
 * build time is reported), then VACUUM ANALYZE (a live table's autovacuum state).
 * Then BENCH_MEMORY_QUERIES queries, each against a random agent, limit 10,
 * run as text, vector and hybrid (the order rotating per query; after one
 * untimed search per agent and mode, so every agent's rows were read once) through
 * searchAgent: settings (cached), the query's embedding, the SQL, and
 * recording access (batched, in the background) — an API call minus HTTP.
 *
 * Recall@10: the product's vector list (searchMemories with text null; rows
 * whose vectorRank ≤ 10, with the candidates and ef_search a limit-10 search
 * uses) against an exact scan of the same agent's live rows in the space
 * (enable_indexscan off), on the first BENCH_MEMORY_RECALL queries. A hit
 * counts when its distance is within the exact 10th distance (ties).
 *
 * Knowledge: bench/memory-knowledge.ts.
 *
 * Patterns and learning sessions: bulk-loaded, then a page of 50 through
 * listSessions (by agent; by source and target domain) and listPatterns (by
 * accuracy, of one type), the calls their list endpoints make.
 *
 * Environment (defaults in brackets):
 *   BENCH_DATABASE_URL          server for the throw-away database [TEST_DATABASE_URL, then local postgres]
 *   BENCH_MEMORY_ROWS           comma list of table sizes to measure at, ascending [100000]
 *   BENCH_MEMORY_AGENTS         agents the rows are spread over [100]
 *   BENCH_MEMORY_QUERIES        timed queries per size (each in three modes) [300]
 *   BENCH_MEMORY_RECALL         queries of them the recall is measured on [100]
 *   BENCH_MEMORY_INSERT         memories written with the hashed embedder [3000]
 *   BENCH_MEMORY_INSERT_BUNDLED memories written with the bundled model [400]
 *   BENCH_MEMORY_BATCH          memories per saveMemories call [100]
 *   BENCH_MEMORY_MWM            maintenance_work_mem of the index build [4GB]
 *   BENCH_MEMORY_PARALLEL       max_parallel_maintenance_workers of the index build [1]
 *   BENCH_KNOWLEDGE_ROWS        knowledge items, 0 for none [100000]
 *   BENCH_KNOWLEDGE_CORPUS      realistic (bench/knowledge-data.ts) or narrow (the first, ~450-word corpus) [realistic]
 *   BENCH_LEARNING_SESSIONS     learning sessions (over the agents), 0 for none [100000]
 *   BENCH_PATTERNS              patterns of the organization [10000]
 *   BENCH_KEEP=1                keep the database
 */

const LIMIT = 10;
const MODES: SearchMode[] = ['text', 'vector', 'hybrid'];

interface SizeResult {
  rows: number;
  loadS: number;
  buildS: number;
  search: Record<SearchMode, Stats>;
  hits: Record<SearchMode, number>;
  recall: { mean: number; min: number; n: number };
  insertHashed: number;
  plans: Record<SearchMode, string>;
}

export async function memoryBench(): Promise<string> {
  const o = {
    sizes: (process.env.BENCH_MEMORY_ROWS || '100000').split(',').map((s) => Number(s.replaceAll('_', '').trim())).filter((n) => n > 0),
    agents: Math.max(1, envNumber('BENCH_MEMORY_AGENTS', 100)),
    queries: Math.max(1, envNumber('BENCH_MEMORY_QUERIES', 300)),
    recall: envNumber('BENCH_MEMORY_RECALL', 100),
    insert: Math.max(1, envNumber('BENCH_MEMORY_INSERT', 3000)),
    insertBundled: envNumber('BENCH_MEMORY_INSERT_BUNDLED', 400),
    batch: Math.max(1, envNumber('BENCH_MEMORY_BATCH', 100)),
    mwm: process.env.BENCH_MEMORY_MWM || '4GB',
    parallel: envNumber('BENCH_MEMORY_PARALLEL', 1),
    knowledge: envNumber('BENCH_KNOWLEDGE_ROWS', 100_000),
    corpus: process.env.BENCH_KNOWLEDGE_CORPUS === 'narrow' ? ('narrow' as const) : ('realistic' as const),
    sessions: envNumber('BENCH_LEARNING_SESSIONS', 100_000),
    patterns: envNumber('BENCH_PATTERNS', 10_000),
    keep: process.env.BENCH_KEEP === '1',
  };
  if (!/^\d+\s*[kMG]?B$/.test(o.mwm)) throw new Error(`BENCH_MEMORY_MWM must look like 4GB, not ${o.mwm}`);
  const log = (s: string) => process.stderr.write(`[memory] ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase({ log, dropOnSignal: !o.keep });
  let close = async () => {};
  try {
    const config = parseConfig({
      DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed',
    });
    const svc = await createService(config, b.db, false);
    close = () => svc.close();
    const m = svc.memory;
    if (!m.vectors) throw new Error('this PostgreSQL has no pgvector: the memory bench needs it');
    const server = (await b.db.admin.query<{ v: string; pgv: string; sb: string }>(
      `SELECT current_setting('server_version') AS v, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgv,
              current_setting('shared_buffers') AS sb`,
    )).rows[0]!;
    // The search agents, then one for the hashed and one for the bundled insert figures.
    const org = await benchOrg(svc.app, b.db, { name: 'Memory Bench', agents: o.agents + 2 });
    const agents = org.agentIds.slice(0, o.agents);
    const [hashedAgent, bundledAgent] = org.agentIds.slice(o.agents) as [string, string];
    const actor = { orgId: org.orgId, actorType: 'user' as const, userId: org.userId };
    const put = await svc.app.inject({
      method: 'PUT', url: `/v1/agents/${bundledAgent}/memory/config`, headers: { authorization: org.authorization }, payload: { embedder: 'bundled' },
    });
    if (put.statusCode !== 200) throw new Error(`memory config: ${put.statusCode} ${put.body}`);
    const embedder = (await m.embedderFor(org.orgId, agents[0]))!;
    const space: Space = spaceOf(embedder);
    log(`space ${space.model}/${space.dims}, ${o.agents} agents`);

    // ---- inserts through saveMemories
    const textRng = rng(42);
    const insertRate = async (agentId: string, n: number): Promise<number> => {
      const texts = Array.from({ length: n }, () => memoryText(textRng));
      const t0 = performance.now();
      for (let i = 0; i < n; i += o.batch) {
        await saveMemories(m, actor, agentId, texts.slice(i, i + o.batch).map((content) => ({ content, importance: 0.5 })));
      }
      return n / ((performance.now() - t0) / 1000);
    };
    await insertRate(hashedAgent, o.batch); // warm-up: the space's index, plans, the pool
    const hashedRate = await insertRate(hashedAgent, o.insert);
    log(`hashed: ${hashedRate.toFixed(0)} memories/s`);
    let bundledRate: number | null = null;
    if (o.insertBundled > 0) {
      await insertRate(bundledAgent, 16); // loads the model (~1 s), not timed
      bundledRate = await insertRate(bundledAgent, o.insertBundled);
      log(`bundled: ${bundledRate.toFixed(1)} memories/s`);
    }

    // ---- bulk load, index, measure at each size
    const results: SizeResult[] = [];
    const queryRng = rng(7);
    const queries = Array.from({ length: o.queries + 20 }, () => ({ agentId: agents[Math.floor(queryRng() * agents.length)]!, text: queryText(queryRng) }));
    let loaded = 0;
    const indexName = async () => (await b.db.admin.query<{ n: string }>(
      `SELECT indexname AS n FROM pg_indexes WHERE tablename = 'agent_memories' AND indexname LIKE 'agent_memories_hnsw_%' AND indexdef LIKE '%' || $1 || '%'`,
      [`'${space.model}'`],
    )).rows[0]?.n;
    for (const size of o.sizes) {
      if (size <= loaded) continue;
      const existing = await indexName();
      if (existing) await b.db.admin.query(`DROP INDEX ${existing}`);
      const t0 = performance.now();
      loaded = await bulkLoadMemories(b.db.admin, org.orgId, agents, embedder, space, loaded, size, log);
      const loadS = (performance.now() - t0) / 1000;
      log(`loaded ${loaded} rows in ${loadS.toFixed(0)} s; building the HNSW index (maintenance_work_mem ${o.mwm}, ${o.parallel} parallel workers)`);
      const t1 = performance.now();
      const idx = await b.db.admin.transaction(async (sql) => {
        await sql.query(`SELECT set_config('maintenance_work_mem', $1, true), set_config('max_parallel_maintenance_workers', $2, true)`, [o.mwm, String(o.parallel)]);
        return (await sql.query<{ i: string }>('SELECT memory_ensure_vector_index($1, $2, $3) AS i', ['agent_memories', space.model, space.dims])).rows[0]!.i;
      });
      const buildS = (performance.now() - t1) / 1000;
      log(`index ${idx} built in ${buildS.toFixed(0)} s; VACUUM ANALYZE`);
      await b.db.admin.query('VACUUM ANALYZE agent_memories');

      const plans = {} as Record<SearchMode, string>;
      const q0 = queries[0]!;
      for (const mode of MODES) {
        plans[mode] = await explainSearch(m, org.orgId, q0.agentId, q0.text, mode);
        log(`EXPLAIN ANALYZE ${mode} "${q0.text}":\n${plans[mode]}`);
      }

      // Steady state: one untimed search per agent and mode first, so every
      // agent's rows have been read once, as on a server in use. Without it the
      // figures mix in first reads from disk or the OS cache, which depend on
      // what ran before the bench rather than on the query.
      for (const agentId of agents) for (const mode of MODES) await searchAgent(m, org.orgId, agentId, { query: 'warm up', limit: LIMIT, mode });
      const samples: Record<SearchMode, number[]> = { text: [], vector: [], hybrid: [] };
      const hits: Record<SearchMode, number> = { text: 0, vector: 0, hybrid: 0 };
      for (const [i, q] of queries.entries()) {
        const order = MODES.map((_, k) => MODES[(i + k) % MODES.length]!);
        for (const mode of order) {
          const t = performance.now();
          const r = await searchAgent(m, org.orgId, q.agentId, { query: q.text, limit: LIMIT, mode });
          const ms = performance.now() - t;
          if (r.mode !== mode) throw new Error(`${mode} search ran as ${r.mode}`);
          if (i >= 20) {
            samples[mode].push(ms);
            hits[mode] += r.items.length;
          }
        }
      }
      const search = Object.fromEntries(MODES.map((k) => [k, stats(samples[k])])) as Record<SearchMode, Stats>;
      for (const k of MODES) log(`${size}: ${k} p50 ${fmt(search[k].p50)} p95 ${fmt(search[k].p95)}`);

      const recall = await measureRecall(m, org.orgId, embedder, space, queries.slice(20, 20 + o.recall));
      log(`${size}: recall@10 ${recall.mean.toFixed(3)} (min ${recall.min.toFixed(2)})`);
      const insertHashed = await insertRate(hashedAgent, o.insert);
      log(`${size}: hashed insert ${insertHashed.toFixed(0)} memories/s`);
      results.push({ rows: size, loadS, buildS, search, hits: Object.fromEntries(MODES.map((k) => [k, hits[k] / o.queries])) as Record<SearchMode, number>, recall, insertHashed, plans });
    }

    // ---- knowledge full-text search
    const knowledge = o.knowledge > 0
      ? await measureKnowledge(m, b.db.admin, org.orgId, agents, { rows: o.knowledge, corpus: o.corpus, queries: o.queries }, log)
      : null;

    // ---- patterns and learning sessions: the list calls
    const lists: { name: string; s: Stats }[] = [];
    if (o.sessions > 0 || o.patterns > 0) {
      await b.db.admin.query(
        `INSERT INTO learning_sessions (id, org_id, agent_id, source_domain, target_domain, transfer_mode, improvement_score, started_at, completed_at)
         SELECT gen_random_uuid(), $1, ($2::uuid[])[1 + i % cardinality($2::uuid[])], (ARRAY['travel','billing','support','sales','legal','hr'])[1 + i % 6],
                (ARRAY['travel','billing','support','sales','legal','hr','product'])[1 + (i / 7) % 7], 'adaptive', round((random() * 2 - 1)::numeric, 2),
                now() - i * interval '1 minute', CASE WHEN i % 3 = 0 THEN NULL ELSE now() - i * interval '1 minute' + interval '5 minutes' END
           FROM generate_series(1, $3::int) i`,
        [org.orgId, agents, o.sessions],
      );
      await b.db.admin.query(
        `INSERT INTO patterns (id, org_id, type, name, pattern_data, accuracy, usage_count, success_count)
         SELECT gen_random_uuid(), $1, (ARRAY['convergent','divergent','lateral','systems','critical','adaptive'])[1 + i % 6], 'pattern ' || i,
                jsonb_build_object('steps', i % 10), CASE WHEN i % 5 = 0 THEN NULL ELSE round((i % 97) / 100.0, 2) END, i % 97 + 1, i % 97
           FROM generate_series(1, $2::int) i`,
        [org.orgId, o.patterns],
      );
      await b.db.admin.query('VACUUM ANALYZE learning_sessions, patterns');
      const lr = rng(13);
      const time = async (name: string, fn: () => Promise<unknown>) => {
        for (let i = 0; i < 20; i++) await fn();
        const xs: number[] = [];
        for (let i = 0; i < o.queries; i++) {
          const t = performance.now();
          await fn();
          xs.push(performance.now() - t);
        }
        lists.push({ name, s: stats(xs) });
      };
      const domains = ['travel', 'billing', 'support', 'sales', 'legal', 'hr'];
      if (o.sessions > 0) {
        await time(`listSessions of an agent (${(o.sessions / agents.length).toFixed(0)} each), 50`, () =>
          listSessions(m, org.orgId, { agentRef: agents[Math.floor(lr() * agents.length)]!, limit: 50 }));
        await time('listSessions by source and target domain, 50', () =>
          listSessions(m, org.orgId, { sourceDomain: domains[Math.floor(lr() * 6)]!, targetDomain: domains[Math.floor(lr() * 6)]!, limit: 50 }));
      }
      if (o.patterns > 0) {
        await time('listPatterns of a type by accuracy, 50', () =>
          listPatterns(m, org.orgId, { type: (['convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive'] as const)[Math.floor(lr() * 6)]!, sort: 'accuracy', limit: 50 }));
      }
      for (const l of lists) log(`${l.name}: p50 ${fmt(l.s.p50)} p95 ${fmt(l.s.p95)}`);
    }

    return report({ ...o, server: server.v, pgvector: server.pgv, sharedBuffers: server.sb, loadBefore, space, hashedRate, bundledRate, results, knowledge, lists });
  } finally {
    await close().catch((err: unknown) => log(`closing the service: ${String(err)}`));
    await b.finish(o.keep);
  }
}

function report(r: {
  sizes: number[]; agents: number; queries: number; recall: number; insert: number; insertBundled: number; batch: number; mwm: string; parallel: number;
  server: string; pgvector: string; sharedBuffers: string; loadBefore: number; space: Space; hashedRate: number; bundledRate: number | null;
  results: SizeResult[]; knowledge: KnowledgeResult | null;
  sessions: number; patterns: number; lists: { name: string; s: Stats }[];
}): string {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const pass = (ok: boolean) => (ok ? 'pass' : '**fail**');
  const out = [
    `### Memory (PostgreSQL ${r.server}, pgvector ${r.pgvector}, shared_buffers ${r.sharedBuffers}, ${cpus().length} cores shared by the bench, the embedder and the database)`,
    '',
    `1-minute load average ${r.loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    '',
    `Writes: saveMemories (embed, then one INSERT and an audit row per call, in a tenant transaction), ${r.batch} memories per call, sequentially,`,
    `into an agent of their own; the first figures on a near-empty table.`,
    '',
    '| embedder | memories | memories/s | vs hashed |',
    '| --- | ---: | ---: | ---: |',
    `| hashed-ngram-256 (test embedder: the database's cost) | ${n(r.insert)} | ${n(r.hashedRate)} | 1.00× |`,
    ...(r.bundledRate !== null
      ? [`| bundled USE-lite 512-d (model in-process) | ${n(r.insertBundled)} | ${r.bundledRate.toFixed(1)} | ${(r.bundledRate / r.hashedRate).toFixed(3)}× |`]
      : []),
    ...r.results.map((x) => `| hashed-ngram-256, table at ${n(x.rows)} rows | ${n(r.insert)} | ${n(x.insertHashed)} | ${(x.insertHashed / r.hashedRate).toFixed(2)}× |`),
    '',
    `Search: ${n(r.queries)} queries per size (after 20 untimed), each against a random one of ${r.agents} agents of one organization, limit ${LIMIT},`,
    `in every mode (order rotating) through searchAgent (settings, the query's ${r.space.model} embedding, the SQL, access recording).`,
    `Rows bulk-loaded (not timed, not the product's write path: INSERT … SELECT FROM unnest) with generated text and the product's hashed vectors;`,
    `HNSW built by memory_ensure_vector_index with maintenance_work_mem ${r.mwm} and ${r.parallel} parallel maintenance worker(s), then VACUUM ANALYZE.`,
    '',
    '| memories | HNSW build | mode | p50 | p95 | p99 | p50 / text | p95 / text | hits per query |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.results.flatMap((x) => MODES.map((mode) => {
      const s = x.search[mode];
      const t = x.search.text;
      return `| ${n(x.rows)} | ${mode === 'text' ? `${x.buildS.toFixed(0)} s` : ''} | ${mode} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | `
        + `${(s.p50 / t.p50).toFixed(2)}× | ${(s.p95 / t.p95).toFixed(2)}× | ${x.hits[mode].toFixed(1)} |`;
    })),
    '',
    'Plans of the first query (indexes used, EXPLAIN ANALYZE execution time):',
    '',
    ...r.results.flatMap((x) => MODES.map((mode) => `- ${n(x.rows)}, ${mode}: ${planSummary(x.plans[mode])}`)),
    '',
    `Recall@10 of the product's vector list against an exact scan (same agent, same filter), ${r.results[0]?.recall.n ?? 0} queries:`,
    '',
    '| memories | recall@10 mean | worst query |',
    '| ---: | ---: | ---: |',
    ...r.results.map((x) => `| ${n(x.rows)} | ${x.recall.mean.toFixed(3)} | ${x.recall.min.toFixed(2)} |`),
  ];
  if (r.knowledge) out.push(...knowledgeReport(r.knowledge, r.queries, planSummary));
  if (r.lists.length) {
    out.push(
      '',
      `Learning sessions (${n(r.sessions)}) and patterns (${n(r.patterns)}) bulk-loaded; a page through the service's list calls:`,
      '',
      '| call | p50 | p95 | p99 |',
      '| --- | ---: | ---: | ---: |',
      ...r.lists.map((l) => `| ${l.name} | ${fmt(l.s.p50)} | ${fmt(l.s.p95)} | ${fmt(l.s.p99)} |`),
    );
  }
  const goals: string[] = [];
  for (const x of r.results) {
    const target = x.rows >= 1_000_000 ? 50 : x.rows >= 100_000 ? 20 : null;
    if (target !== null) goals.push(`| hybrid p95 at ${n(x.rows)} memories | ${fmt(x.search.hybrid.p95)} | ≤ ${target} ms | ${pass(x.search.hybrid.p95 <= target)} |`);
    goals.push(`| HNSW recall@10 at ${n(x.rows)} | ${x.recall.mean.toFixed(3)} | ≥ 0.95 | ${pass(x.recall.mean >= 0.95)} |`);
  }
  if (r.knowledge && r.knowledge.rows >= 1_000_000) {
    goals.push(`| knowledge text p95 at ${n(r.knowledge.rows)} items | ${fmt(r.knowledge.search.p95)} | ≤ 20 ms | ${pass(r.knowledge.search.p95 <= 20)} |`);
  }
  if (goals.length) out.push('', '| goal (issue 12) | measured | target | result |', '| --- | ---: | ---: | --- |', ...goals);
  return out.join('\n');
}
