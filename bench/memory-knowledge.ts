import { searchKnowledge } from '../src/memory/knowledge-search-service.js';
import type { MemoryModule } from '../src/memory/index.js';
import { fmt, stats, type Stats } from './bench-db.js';
import { knowledgeQuery } from './knowledge-data.js';
import { bulkLoadKnowledge } from './memory-load.js';
import { narrowKnowledgeQuery, rng } from './memory-data.js';

/**
 * The knowledge part of `npm run bench -- memory`: items bulk-loaded (title +
 * description, no embeddings), then searchKnowledge in text mode (websearch
 * syntax, limit 10) — the call POST /v1/knowledge/search makes. Each query's
 * match count is counted (untimed) so the figures can be split by how broad
 * the query is: a query matching 1 % of a million items ranks 10,000 rows.
 */

const LIMIT = 10;
/** A query matching more than this share of the items counts as broad. */
const BROAD = 0.01;

export interface KnowledgeResult {
  rows: number;
  corpus: 'realistic' | 'narrow';
  loadS: number;
  search: Stats;
  selective: Stats | null;
  broad: Stats | null;
  hits: number;
  matches: Stats;
  plan: string;
}

type Admin = { query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }> };

export async function measureKnowledge(
  m: MemoryModule, admin: Admin, orgId: string, agents: string[],
  o: { rows: number; corpus: 'realistic' | 'narrow'; queries: number }, log: (s: string) => void,
): Promise<KnowledgeResult> {
  const t0 = performance.now();
  await bulkLoadKnowledge(admin, orgId, agents, o.rows, o.corpus, log);
  const loadS = (performance.now() - t0) / 1000;
  await admin.query('VACUUM ANALYZE knowledge_items');
  const kr = rng(11);
  const kq = Array.from({ length: o.queries + 20 }, () => (o.corpus === 'narrow' ? narrowKnowledgeQuery : knowledgeQuery)(kr));
  const plan = await explainKnowledge(m, orgId, kq[0]!);
  log(`EXPLAIN ANALYZE knowledge "${kq[0]!}":\n${plan}`);
  // Steady state, as for memories: every query once, untimed.
  for (const query of kq) await searchKnowledge(m, orgId, { query, mode: 'text', limit: LIMIT });
  const samples: { ms: number; matches: number }[] = [];
  let hits = 0;
  for (const [i, query] of kq.entries()) {
    const t = performance.now();
    const r = await searchKnowledge(m, orgId, { query, mode: 'text', limit: LIMIT });
    const ms = performance.now() - t;
    if (i < 20) continue;
    hits += r.items.length;
    const c = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM knowledge_items WHERE search_vector @@ websearch_to_tsquery('english', $1)`, [query]);
    samples.push({ ms, matches: c.rows[0]!.n });
  }
  const part = (xs: typeof samples) => (xs.length ? stats(xs.map((x) => x.ms)) : null);
  const result: KnowledgeResult = {
    rows: o.rows, corpus: o.corpus, loadS, plan, hits: hits / o.queries,
    search: stats(samples.map((x) => x.ms)),
    selective: part(samples.filter((x) => x.matches <= BROAD * o.rows)),
    broad: part(samples.filter((x) => x.matches > BROAD * o.rows)),
    matches: stats(samples.map((x) => x.matches)),
  };
  log(`knowledge ${o.rows}: p50 ${fmt(result.search.p50)} p95 ${fmt(result.search.p95)}; matches p50 ${result.matches.p50} p95 ${result.matches.p95}`);
  return result;
}

async function explainKnowledge(m: MemoryModule, orgId: string, query: string): Promise<string> {
  const { searchStatement } = await import('../src/memory/knowledge-search-repo.js');
  const { text, params } = searchStatement(orgId, { mode: 'text', query }, {}, LIMIT, LIMIT);
  return m.db.tenant(orgId, async (sql) =>
    (await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params)).rows.map((x) => x['QUERY PLAN']).join('\n'));
}

export function knowledgeReport(k: KnowledgeResult, queries: number, planSummary: (plan: string) => string): string[] {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const row = (name: string, s: Stats | null) => (s ? [`| ${name} | ${n(s.n)} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} |`] : []);
  const corpus = k.corpus === 'narrow'
    ? 'the narrow corpus (~450 words: most queries match a large share of the items)'
    : 'a corpus with a realistic vocabulary (stopwords, ~450 travel words, 150,000 generated terms, by Zipf rank; bench/knowledge-data.ts)';
  return [
    '',
    `Knowledge: ${n(k.rows)} items of ${corpus}, bulk-loaded (title + description, no embeddings; ${k.loadS.toFixed(0)} s),`,
    `searchKnowledge mode text, limit ${LIMIT}, ${n(queries)} queries (websearch syntax: every word must match), after one untimed pass.`,
    `Items matching per query: p50 ${n(k.matches.p50)}, p95 ${n(k.matches.p95)}, p99 ${n(k.matches.p99)}; ${k.hits.toFixed(1)} hits returned per query.`,
    `Plan of the first query: ${planSummary(k.plan)}.`,
    '',
    '| knowledge queries | n | p50 | p95 | p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...row(`all, ${n(k.rows)} items`, k.search),
    ...row(`matching ≤ ${BROAD * 100} % of the items`, k.selective),
    ...row(`matching > ${BROAD * 100} % (broad)`, k.broad),
  ];
}
