import pg from 'pg';
import { ensureMonthPartitions, type Database } from '../src/db/index.js';
import { MODEL, PROVIDER, type Price } from './ingest-data.js';
import { progressBar } from './ingest-progress.js';

/**
 * Loads the "existing rows" server-side: one INSERT … SELECT FROM
 * generate_series per chunk, writing what ingestion would have written for
 * those executions (executions with their totals, spans, a cost_ledger row per
 * llm span, ingestion keys for every item) in one statement through
 * data-modifying CTEs, so nothing crosses the wire but the chunk bounds.
 * Rows have the shape of bench/ingest-data.ts: ten spans per execution, half
 * of them llm_call, times spread evenly over the window. Ids are UUIDv7 at
 * the row's time (built from md5 text, since PostgreSQL 15 has no uuidv7()),
 * so GET /v1/executions/:id finds its partition as for ingested rows.
 */
const uuid7 = (msExpr: string, seed: string) =>
  `(lpad(to_hex((${msExpr})::bigint), 12, '0') || '7' || substr(md5(${seed}), 1, 3) || '8' || substr(md5(${seed}), 4, 15))::uuid`;
const at = (msExpr: string) => `(timestamptz 'epoch' + (${msExpr}) * interval '1 millisecond')`;

const KINDS = ['llm_call', 'tool_call', 'llm_call', 'reasoning_step', 'llm_call', 'tool_call', 'llm_call', 'memory_access', 'llm_call', 'tool_call'];

const CHUNK_SQL = `
WITH e AS (
  SELECT n, (($3::bigint + floor(n * $4::float8))::bigint) AS ms,
    md5('t' || n) AS trace_id, substr(md5('s' || n), 1, 16) AS span_id, md5('ce' || n)::uuid::text AS client_id,
    ($2::uuid[])[1 + n % array_length($2::uuid[], 1)] AS agent_id, 'session-' || (n / 5) AS session_id
  FROM generate_series($5::bigint, $6::bigint - 1) AS n
), e2 AS (
  SELECT e.*, ${uuid7('ms', `'e' || n`)} AS id, ${at('ms')} AS created_at FROM e
), s AS (
  SELECT e2.n, e2.id AS execution_id, e2.created_at AS execution_created_at, e2.agent_id, e2.session_id, e2.trace_id,
    j, e2.n * $15::int + j AS i, e2.ms + j * 100 + 10 AS sms, ($14::text[])[1 + j % 10] AS kind,
    substr(md5('sp' || (e2.n * $15::int + j)), 1, 16) AS span_id,
    CASE WHEN j = 0 THEN e2.span_id ELSE substr(md5('sp' || (e2.n * $15::int)), 1, 16) END AS parent_span_id
  FROM e2 CROSS JOIN generate_series(0, $15::int - 1) AS j
), s2 AS (
  SELECT s.*, ${uuid7('sms', `'si' || i`)} AS id, ${at('sms')} AS started_at, md5('cs' || i)::uuid::text AS client_id,
    CASE WHEN kind = 'llm_call' THEN 200 + (i * 37) % 1800 END AS prompt,
    CASE WHEN kind = 'llm_call' THEN 50 + (i * 13) % 450 END AS completion
  FROM s
), s3 AS (
  SELECT s2.*, round(prompt * $9::numeric + completion * $10::numeric, 6) AS cost FROM s2
), totals AS (
  SELECT n, sum(prompt)::int AS prompt, sum(completion)::int AS completion, sum(cost) AS cost FROM s3 GROUP BY n
), ins_exec AS (
  INSERT INTO executions (id, org_id, agent_id, session_id, model_provider, model_name, input, output, status, started_at,
    completed_at, prompt_tokens, completion_tokens, total_tokens, cost_usd, trace_id, span_id, client_id, metadata, created_at)
  SELECT e2.id, $1, e2.agent_id, e2.session_id, '${PROVIDER}', '${MODEL}', '{"request":"Plan a trip to Oslo"}', '{"answer":"Booked TP1234"}',
    'completed', e2.created_at, e2.created_at + $15::int * interval '100 ms', t.prompt, t.completion, t.prompt + t.completion,
    t.cost, e2.trace_id, e2.span_id, e2.client_id, '{"sdk":"bench"}', e2.created_at
  FROM e2 JOIN totals t USING (n)
), ins_span AS (
  INSERT INTO spans (id, org_id, execution_id, execution_created_at, kind, trace_id, span_id, parent_span_id, name,
    model, provider, prompt_tokens, completion_tokens, total_tokens, cost_usd, tool_name, tool_status, step_number,
    reasoning, confidence, input, output, status, started_at, ended_at, duration_ms, attributes, client_id)
  SELECT id, $1, execution_id, execution_created_at, kind, trace_id, span_id, parent_span_id,
    CASE kind WHEN 'llm_call' THEN 'chat ${MODEL}' WHEN 'tool_call' THEN 'search_flights' WHEN 'reasoning_step' THEN 'plan' ELSE 'recall' END,
    CASE WHEN kind = 'llm_call' THEN '${MODEL}' END, CASE WHEN kind = 'llm_call' THEN '${PROVIDER}' END,
    prompt, completion, prompt + completion, cost,
    CASE WHEN kind = 'tool_call' THEN 'search_flights' END, CASE WHEN kind = 'tool_call' THEN 'ok' END, j,
    CASE WHEN kind = 'reasoning_step' THEN 'The user wants the cheapest direct flight; compare the three options by price.' END,
    CASE WHEN kind = 'reasoning_step' THEN 0.85 END,
    CASE WHEN kind = 'llm_call'
      THEN jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content',
        'Find me a flight from Lisbon to Oslo on day ' || (i % 28 + 1) || ', window seat, under 300 EUR.')))
      ELSE jsonb_build_object('q', 'LIS-OSL ' || (i % 28 + 1)) END,
    CASE WHEN kind = 'llm_call'
      THEN '{"content":"There are three direct flights that day; the cheapest leaves at 07:40 and costs 214 EUR."}'::jsonb
      ELSE '{"results":["TP1234","SK4321"]}'::jsonb END,
    'ok', started_at, started_at + interval '80 ms', 80, jsonb_build_object('gen_ai.system', '${PROVIDER}', 'step', j), client_id
  FROM s3
), ins_ledger AS (
  INSERT INTO cost_ledger (org_id, span_ref, span_started_at, span_id, execution_id, execution_created_at, agent_id,
    session_id, model_provider, model_name, model_tier, price_id, prompt_tokens, completion_tokens, total_tokens,
    prompt_cost_per_token, completion_cost_per_token, cached_cost_per_token, cache_write_cost_per_token,
    reasoning_cost_per_token, total_cost_usd, billing_date)
  SELECT $1, id, started_at, span_id, execution_id, execution_created_at, agent_id, session_id, '${PROVIDER}', '${MODEL}',
    $8, $7, prompt, completion, prompt + completion, $9, $10, $11, $12, $13, cost, (started_at AT TIME ZONE 'UTC')::date
  FROM s3 WHERE kind = 'llm_call'
)
INSERT INTO ingest_keys (org_id, kind, client_id, id, item_at)
SELECT $1, 'execution', client_id, id, created_at FROM e2
UNION ALL
SELECT $1, 'span', client_id, id, started_at FROM s3`;

export interface LoadOptions {
  url: string;
  orgId: string;
  agentIds: string[];
  price: Price;
  spans: number;
  spansPerExecution: number;
  chunkSpans: number;
  parallel: number;
  /** the window the rows are spread over, oldest first */
  from: Date;
  to: Date;
}

function monthsBetween(from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)); m <= to; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) out.push(m);
  return out;
}

/**
 * Loads opts.spans spans (and their executions, ledger rows and keys), then
 * VACUUM ANALYZE and CHECKPOINT; returns seconds taken. The checkpoint flushes
 * the load's dirty pages first, so the run at size measures a database at rest
 * rather than one still writing gigabytes of freshly loaded data.
 */
export async function loadExisting(db: Database, opts: LoadOptions): Promise<{ loadSeconds: number; vacuumSeconds: number }> {
  const months = monthsBetween(opts.from, opts.to);
  await ensureMonthPartitions(db, months.flatMap((month) => [{ table: 'executions', month }, { table: 'spans', month }]));

  const executions = Math.ceil(opts.spans / opts.spansPerExecution);
  const perChunk = Math.max(1, Math.floor(opts.chunkSpans / opts.spansPerExecution));
  const stepMs = (opts.to.getTime() - opts.from.getTime()) / executions;
  const p = opts.price;
  const bar = progressBar('loading spans', executions * opts.spansPerExecution);
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  bar.tick(0);
  // A few connections at once: each statement runs on one backend, so this is what uses more than one core.
  const lanes = Array.from({ length: opts.parallel }, async () => {
    const c = new pg.Client({ connectionString: opts.url });
    await c.connect();
    try {
      while (next < executions) {
        const lo = next;
        const hi = Math.min(executions, lo + perChunk);
        next = hi;
        await c.query(CHUNK_SQL, [
          opts.orgId, opts.agentIds, opts.from.getTime(), stepMs, lo, hi, p.id, p.tier, p.input, p.output, p.cached,
          p.cacheWrite, p.reasoning, KINDS, opts.spansPerExecution,
        ]);
        done += (hi - lo) * opts.spansPerExecution;
        bar.tick(done);
      }
    } finally {
      await c.end();
    }
  });
  const settled = await Promise.allSettled(lanes);
  bar.end();
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const loadSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  process.stderr.write('VACUUM ANALYZE, CHECKPOINT …\n');
  const c = new pg.Client({ connectionString: opts.url });
  await c.connect();
  try {
    await c.query('VACUUM ANALYZE executions, spans, cost_ledger, ingest_keys');
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
  return { loadSeconds, vacuumSeconds: (performance.now() - t1) / 1000 };
}
