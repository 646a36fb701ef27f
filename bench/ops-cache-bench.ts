import { invalidate, stableJson } from '../src/cache/index.js';
import { parseConfig } from '../src/config/index.js';
import { createService, type Service } from '../src/server.js';
import type { Sql } from '../src/db/index.js';
import { benchDatabase, envNumber, fmt, stats, timeIt, type Stats } from './bench-db.js';
import { benchOrg } from './bench-org.js';

/**
 * `npm run bench -- ops-cache`: the query cache on the cost reports, over HTTP
 * on loopback (two services on one PostgreSQL database: one with the cache,
 * one with AGENTBASE_CACHE_ENABLED=false, the same-run baseline), with
 * BENCH_CACHE_SPANS ledger rows (one per priced llm span) behind the reports,
 * spread over 30 days, BENCH_CACHE_AGENTS agents and BENCH_CACHE_SESSIONS
 * sessions. Then what the invalidation costs ingestion: the one statement
 * alone, and a 100-span batch through the API with it.
 */
/** Times a and b alternately (after a warm-up of each), so load that drifts during the run weighs on both alike. */
async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, iterations: number, warmup: number): Promise<[Stats, Stats]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let t0 = performance.now();
    await a();
    sa.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    sb.push(performance.now() - t0);
  }
  return [stats(sa), stats(sb)];
}

export async function opsCacheBench(): Promise<string> {
  const spans = envNumber('BENCH_CACHE_SPANS', 500_000);
  const agents = envNumber('BENCH_CACHE_AGENTS', 20);
  const sessions = envNumber('BENCH_CACHE_SESSIONS', 20_000);
  const iterations = envNumber('BENCH_CACHE_ITERATIONS', 300);
  const log = (s: string) => process.stderr.write(`[ops-cache] ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const b = await benchDatabase({ log });
  const services: Service[] = [];
  try {
    const env = { DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent', AGENTBASE_WORKER: 'false' };
    const on = await createService(parseConfig(env), b.db, false);
    services.push(on);
    const off = await createService(parseConfig({ ...env, AGENTBASE_CACHE_ENABLED: 'false' }), b.db, false);
    services.push(off);
    const org = await benchOrg(on.app, b.db, { name: 'Cache Bench', agents });

    log(`loading ${spans} ledger rows (owner SQL; the roll-up triggers fill cost_daily)`);
    const chunk = 100_000;
    for (let done = 0; done < spans; done += chunk) {
      await b.db.admin.query(
        `INSERT INTO cost_ledger (org_id, span_ref, span_started_at, span_id, execution_id, execution_created_at, agent_id, user_id,
           session_id, model_provider, model_name, prompt_tokens, completion_tokens, total_tokens, total_cost_usd, billing_date, tags)
         SELECT $1, gen_random_uuid(), ts, substr(md5(g::text), 1, 16), gen_random_uuid(), ts, ($2::uuid[])[1 + g % cardinality($2::uuid[])], $3,
           'session-' || (g % $6), 'openai', CASE WHEN g % 3 = 0 THEN 'gpt-4o-mini' ELSE 'gpt-4o' END, 1000 + g % 500, 200 + g % 100,
           1200 + g % 500 + g % 100, round((0.0025 + (g % 100) * 0.00001)::numeric, 6), (ts AT TIME ZONE 'UTC')::date, '["bench"]'
         FROM generate_series($4::int, $5::int) g, LATERAL (SELECT now() - (g % 30) * interval '1 day' - (g % 1440) * interval '1 minute' AS ts) t`,
        [org.orgId, org.agentIds, org.userId, done + 1, Math.min(spans, done + chunk), Math.max(1, sessions)],
      );
      log(`  ${Math.min(spans, done + chunk)}`);
    }
    await b.db.admin.query('ANALYZE');
    const dailyRows = (await b.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM cost_daily`)).rows[0]!.n;

    const onUrl = await on.app.listen({ host: '127.0.0.1', port: 0 });
    const offUrl = await off.app.listen({ host: '127.0.0.1', port: 0 });
    const get = async (base: string, path: string) => {
      const r = await fetch(`${base}${path}`, { headers: { authorization: org.authorization } });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
      return r.json();
    };

    const reports = ['/v1/costs?groupBy=day', '/v1/costs?groupBy=agent', '/v1/costs?groupBy=model', '/v1/costs?groupBy=session', '/v1/performance'];
    const rows: string[] = [];
    for (const path of reports) {
      await get(onUrl, path); // the miss that fills the entry
      const same = stableJson(await get(onUrl, path)) === stableJson(await get(offUrl, path));
      if (!same) throw new Error(`${path}: the cached answer differs from the computed one`);
      log(`${path}: uncached and cached, alternating`);
      const [u, c] = await alternate(() => get(offUrl, path), () => get(onUrl, path), iterations, 10);
      rows.push(`| GET ${path} | ${fmt(u.p50)} | ${fmt(u.p95)} | ${fmt(c.p50)} | ${fmt(c.p95)} | ${(u.p50 / c.p50).toFixed(1)}x |`);
    }
    const figures = await on.cache.totals();

    log('the invalidation in a writing tenant transaction vs the same transaction without it');
    // A transaction that writes one row (as every ingest batch does, and then pays the commit's WAL flush anyway).
    const write = (sql: Sql) => sql.query(
      `INSERT INTO query_cache_stats AS s (org_id, day, hits) VALUES ($1, current_date, 0)
       ON CONFLICT (org_id, day) DO UPDATE SET hits = s.hits`, [org.orgId]);
    const [plain, inv] = await alternate(
      () => b.db.tenant(org.orgId, (sql) => write(sql)),
      () => b.db.tenant(org.orgId, async (sql) => {
        await write(sql);
        await invalidate(sql, org.orgId, ['costs']);
      }),
      iterations, 10,
    );
    log('a 100-span batch through POST /v1/ingest/batch (invalidates once)');
    let k = 0;
    const batch = () => {
      const exec = `bench-exec-${++k}`;
      return {
        executions: [{ clientId: exec, agentId: org.agentIds[0], status: 'completed' }],
        spans: Array.from({ length: 100 }, (_, i) => ({
          clientId: `${exec}-span-${i}`, executionClientId: exec, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
          promptTokens: 1000, completionTokens: 200, startedAt: new Date().toISOString(),
        })),
      };
    };
    const ingest = await timeIt(async () => {
      const r = await fetch(`${onUrl}/v1/ingest/batch`, {
        method: 'POST', headers: { authorization: org.authorization, 'content-type': 'application/json' }, body: JSON.stringify(batch()),
      });
      if (r.status !== 200) throw new Error(`ingest: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }, Math.min(iterations, 200), 10);

    return [
      `### Query cache: cost reports over HTTP (loopback), cached vs uncached (${spans.toLocaleString('en')} ledger rows, ${dailyRows.toLocaleString('en')} cost_daily rows, ${agents} agents, ${sessions.toLocaleString('en')} sessions, ${iterations} sequential requests each)`,
      '',
      'Same database, same run, requests alternating: the uncached column is a second service with `AGENTBASE_CACHE_ENABLED=false`.',
      '',
      '| report | uncached p50 | uncached p95 | cached p50 | cached p95 | speed-up (p50) |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Hit ratio over the run: ${figures.hits} hits, ${figures.misses} misses (${((figures.ratio ?? 0) * 100).toFixed(1)} %), ${figures.entries} entries, ${figures.bytes.toLocaleString('en')} bytes.`,
      '',
      '| what ingestion pays for the invalidation | p50 | p95 |',
      '| --- | ---: | ---: |',
      `| a tenant transaction writing one row (baseline) | ${fmt(plain.p50)} | ${fmt(plain.p95)} |`,
      `| the same plus the invalidation (DELETE + marker, one statement) | ${fmt(inv.p50)} | ${fmt(inv.p95)} |`,
      `| POST /v1/ingest/batch, 100 llm spans (includes it once) | ${fmt(ingest.p50)} | ${fmt(ingest.p95)} |`,
    ].join('\n');
  } finally {
    for (const s of services) await s.close().catch(() => {});
    await b.finish();
  }
}
