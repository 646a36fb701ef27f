import type { Sql } from '../src/db/index.js';
import { candidatesFor, embedTexts, type MemoryModule, type SearchMode } from '../src/memory/index.js';
import { searchMemories } from '../src/memory/memories-search-repo.js';
import { castType, indexedExpr, spaceOf, spacePredicate, vectorText, type Space } from '../src/memory/space.js';

/** What the memory bench looks at besides latency: the plan of the product's search statement, and the vector list's recall. */

const LIMIT = 10;

export async function explainSearch(m: MemoryModule, orgId: string, agentId: string, query: string, mode: SearchMode): Promise<string> {
  const embedder = (await m.embedderFor(orgId, agentId))!;
  const qv = mode === 'text' ? null : (await embedTexts(embedder, [query])).vectors[0]!;
  const settings = await m.settingsFor(orgId, agentId);
  return m.db.tenant(orgId, async (sql) => {
    const lines: string[] = [];
    const spy: Sql = {
      ...sql,
      query: (async (text: string, params?: readonly unknown[]) => {
        if (!text.trimStart().startsWith('WITH')) return sql.query(text, params);
        const r = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
        lines.push(...r.rows.map((x) => x['QUERY PLAN']));
        return { rows: [], rowCount: 0 };
      }) as Sql['query'],
    };
    await searchMemories(spy, orgId, agentId, {
      text: mode === 'vector' ? null : query,
      vector: qv ? { space: spaceOf(embedder), values: qv } : null,
      filter: {},
      candidates: candidatesFor(LIMIT),
      limit: LIMIT,
      halfLifeDays: settings.recencyHalfLifeDays,
    });
    return lines.join('\n');
  });
}

/** The product's vector top-10 against the exact top-10 of the same agent's live rows in the space. */
export async function measureRecall(
  m: MemoryModule, orgId: string,
  embedder: { embed(t: readonly string[]): Promise<{ vectors: number[][] }> }, space: Space, queries: { agentId: string; text: string }[],
): Promise<{ mean: number; min: number; n: number }> {
  const per: number[] = [];
  for (const q of queries) {
    const v = (await embedder.embed([q.text])).vectors[0]!;
    const r = await m.db.tenant(orgId, async (sql) => {
      const hits = await searchMemories(sql, orgId, q.agentId, {
        text: null, vector: { space, values: v }, filter: {}, candidates: candidatesFor(LIMIT), limit: 200, halfLifeDays: 30,
      });
      const ann = hits.filter((h) => h.vectorRank !== null && h.vectorRank <= LIMIT).map((h) => 1 - h.similarity!);
      await sql.query(`SELECT set_config('enable_indexscan', 'off', true)`);
      const exact = await sql.query<{ d: number }>(
        `SELECT (${indexedExpr('m', space)} <=> $3::${castType(space.dims)})::float8 AS d FROM agent_memories m
          WHERE m.org_id = $1 AND m.agent_id = $2 AND m.superseded_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > now())
            AND ${spacePredicate('m', space)}
          ORDER BY 1 LIMIT ${LIMIT}`,
        [orgId, q.agentId, vectorText(v)],
      );
      const kth = exact.rows[exact.rows.length - 1]?.d ?? 0;
      const want = exact.rows.length;
      return want === 0 ? 1 : Math.min(want, ann.filter((d) => d <= kth + 1e-6).length) / want;
    });
    per.push(r);
  }
  return { mean: per.reduce((a, x) => a + x, 0) / Math.max(1, per.length), min: Math.min(...per), n: per.length };
}

export function planSummary(plan: string): string {
  const idx = [...new Set([...plan.matchAll(/(?:Index|Bitmap Index|Index Only) Scan (?:Backward )?using (\S+)|Bitmap Index Scan on (\S+)/g)]
    .map((x) => x[1] ?? x[2]!))];
  const seq = /Seq Scan on agent_memories|Seq Scan on knowledge_items/.test(plan) ? ['seq scan'] : [];
  const exec = /Execution Time: ([\d.]+) ms/.exec(plan)?.[1];
  return `${[...idx, ...seq].join(', ') || '–'}${exec ? ` (${exec} ms)` : ''}`;
}
