import { randomBytes, randomUUID } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * The synthetic workload of the ingestion benchmark: executions of ten spans
 * each (half of them llm_call on gpt-4o-mini with token counts, so pricing
 * runs), rendered three ways from the same values: as POST /v1/ingest/batch
 * bodies, as COPY text rows and as INSERT parameters. bench/ingest-load.ts
 * generates the same shape server-side for the 10M rows.
 */

export const MODEL = 'gpt-4o-mini';
export const PROVIDER = 'openai';

export interface Price {
  id: string;
  tier: string | null;
  input: number;
  output: number;
  cached: number;
  cacheWrite: number;
  reasoning: number;
}

export interface GenSpan {
  id: string;
  clientId: string;
  spanId: string;
  parentSpanId: string;
  kind: 'llm_call' | 'tool_call' | 'reasoning_step' | 'memory_access';
  name: string;
  startedAt: Date;
  endedAt: Date;
  prompt?: number;
  completion?: number;
  toolName?: string;
  stepNumber: number;
  reasoning?: string;
  confidence?: number;
  input: unknown;
  output: unknown;
  attributes: Record<string, unknown>;
}

export interface GenExecution {
  id: string;
  clientId: string;
  agentId: string;
  sessionId: string;
  traceId: string;
  spanId: string;
  createdAt: Date;
  completedAt: Date;
  spans: GenSpan[];
  /** more fields of the execution item (the A/B benchmarks: references, tags…); a field set to undefined is left out */
  extra?: Record<string, unknown>;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const KINDS = ['llm_call', 'tool_call', 'llm_call', 'reasoning_step', 'llm_call', 'tool_call', 'llm_call', 'memory_access', 'llm_call', 'tool_call'] as const;

/** `count` executions of `spansPerExecution` spans, the first starting at `from` and each `stepMs` after the previous. */
export function generate(opts: { count: number; spansPerExecution: number; agentIds: string[]; from: Date; stepMs: number; seq: number }): GenExecution[] {
  const out: GenExecution[] = [];
  for (let e = 0; e < opts.count; e++) {
    const n = opts.seq + e;
    const t = opts.from.getTime() + e * opts.stepMs;
    const exec: GenExecution = {
      id: v7({ msecs: t }),
      clientId: randomUUID(),
      agentId: opts.agentIds[n % opts.agentIds.length]!,
      sessionId: `session-${Math.floor(n / 5)}`,
      traceId: hex(16),
      spanId: hex(8),
      createdAt: new Date(t),
      completedAt: new Date(t + opts.spansPerExecution * 100),
      spans: [],
    };
    for (let j = 0; j < opts.spansPerExecution; j++) {
      const i = n * opts.spansPerExecution + j;
      const kind = KINDS[j % KINDS.length]!;
      const started = t + j * 100 + 10;
      const s: GenSpan = {
        id: v7({ msecs: started }),
        clientId: randomUUID(),
        spanId: hex(8),
        parentSpanId: j === 0 ? exec.spanId : exec.spans[0]!.spanId,
        kind,
        name: kind === 'llm_call' ? 'chat gpt-4o-mini' : kind === 'tool_call' ? 'search_flights' : kind === 'reasoning_step' ? 'plan' : 'recall',
        startedAt: new Date(started),
        endedAt: new Date(started + 80),
        stepNumber: j,
        input: kind === 'llm_call'
          ? { messages: [{ role: 'user', content: `Find me a flight from Lisbon to Oslo on day ${i % 28 + 1}, window seat, under 300 EUR.` }] }
          : { q: `LIS-OSL ${i % 28 + 1}` },
        output: kind === 'llm_call'
          ? { content: 'There are three direct flights that day; the cheapest leaves at 07:40 and costs 214 EUR.' }
          : { results: ['TP1234', 'SK4321'] },
        attributes: { 'gen_ai.system': PROVIDER, step: j },
      };
      if (kind === 'llm_call') {
        s.prompt = 200 + ((i * 37) % 1800);
        s.completion = 50 + ((i * 13) % 450);
      }
      if (kind === 'tool_call') s.toolName = 'search_flights';
      if (kind === 'reasoning_step') {
        s.reasoning = 'The user wants the cheapest direct flight; compare the three options by price.';
        s.confidence = 0.85;
      }
      exec.spans.push(s);
    }
    out.push(exec);
  }
  return out;
}

/** One POST /v1/ingest/batch body: the executions and all their spans. */
export function batchBody(execs: GenExecution[]): string {
  return JSON.stringify({
    executions: execs.map((e) => ({
      clientId: e.clientId,
      agentId: e.agentId,
      sessionId: e.sessionId,
      status: 'completed',
      modelProvider: PROVIDER,
      modelName: MODEL,
      createdAt: e.createdAt.toISOString(),
      startedAt: e.createdAt.toISOString(),
      completedAt: e.completedAt.toISOString(),
      traceId: e.traceId,
      spanId: e.spanId,
      input: { request: 'Plan a trip to Oslo' },
      output: { answer: 'Booked TP1234' },
      metadata: { sdk: 'bench' },
      ...(e.extra ?? {}),
    })),
    spans: execs.flatMap((e) => e.spans.map((s) => ({
      clientId: s.clientId,
      executionClientId: e.clientId,
      kind: s.kind,
      traceId: e.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      ...(s.kind === 'llm_call' ? { model: MODEL, provider: PROVIDER, promptTokens: s.prompt, completionTokens: s.completion } : {}),
      ...(s.toolName ? { toolName: s.toolName, toolStatus: 'ok' } : {}),
      ...(s.reasoning ? { reasoning: s.reasoning, confidence: s.confidence } : {}),
      stepNumber: s.stepNumber,
      input: s.input,
      output: s.output,
      startedAt: s.startedAt.toISOString(),
      endedAt: s.endedAt.toISOString(),
      attributes: s.attributes,
    }))),
  });
}

type Cell = string | number | null;

export const spanCost = (s: GenSpan, p: Price): number | null =>
  s.kind === 'llm_call' ? Math.round((s.prompt! * p.input + s.completion! * p.output) * 1e6) / 1e6 : null;

/** The columns ingestion fills in spans, in the order of spanRow. */
export const SPAN_COLUMNS = [
  'id', 'org_id', 'execution_id', 'execution_created_at', 'kind', 'trace_id', 'span_id', 'parent_span_id', 'name',
  'model', 'provider', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd', 'tool_name', 'tool_status',
  'step_number', 'reasoning', 'confidence', 'input', 'output', 'status', 'started_at', 'ended_at', 'duration_ms',
  'attributes', 'client_id',
] as const;

export function spanRow(orgId: string, e: GenExecution, s: GenSpan, p: Price): Cell[] {
  const llm = s.kind === 'llm_call';
  return [
    s.id, orgId, e.id, e.createdAt.toISOString(), s.kind, e.traceId, s.spanId, s.parentSpanId, s.name,
    llm ? MODEL : null, llm ? PROVIDER : null, s.prompt ?? null, s.completion ?? null, llm ? s.prompt! + s.completion! : null,
    spanCost(s, p), s.toolName ?? null, s.toolName ? 'ok' : null, s.stepNumber, s.reasoning ?? null, s.confidence ?? null,
    JSON.stringify(s.input), JSON.stringify(s.output), 'ok', s.startedAt.toISOString(), s.endedAt.toISOString(),
    s.endedAt.getTime() - s.startedAt.getTime(), JSON.stringify(s.attributes), s.clientId,
  ];
}

export const EXECUTION_COLUMNS = [
  'id', 'org_id', 'agent_id', 'session_id', 'model_provider', 'model_name', 'input', 'output', 'status', 'started_at',
  'completed_at', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd', 'trace_id', 'span_id', 'client_id',
  'metadata', 'created_at',
] as const;

export function executionRow(orgId: string, e: GenExecution, p: Price): Cell[] {
  const llm = e.spans.filter((s) => s.kind === 'llm_call');
  const prompt = llm.reduce((a, s) => a + s.prompt!, 0);
  const completion = llm.reduce((a, s) => a + s.completion!, 0);
  const cost = llm.reduce((a, s) => a + spanCost(s, p)!, 0);
  return [
    e.id, orgId, e.agentId, e.sessionId, PROVIDER, MODEL, '{"request":"Plan a trip to Oslo"}', '{"answer":"Booked TP1234"}',
    'completed', e.createdAt.toISOString(), e.completedAt.toISOString(), prompt, completion, prompt + completion,
    cost.toFixed(6), e.traceId, e.spanId, e.clientId, '{"sdk":"bench"}', e.createdAt.toISOString(),
  ];
}

export const LEDGER_COLUMNS = [
  'org_id', 'span_ref', 'span_started_at', 'span_id', 'execution_id', 'execution_created_at', 'agent_id', 'session_id',
  'model_provider', 'model_name', 'model_tier', 'price_id', 'prompt_tokens', 'completion_tokens', 'total_tokens',
  'prompt_cost_per_token', 'completion_cost_per_token', 'cached_cost_per_token', 'cache_write_cost_per_token',
  'reasoning_cost_per_token', 'total_cost_usd', 'billing_date',
] as const;

export function ledgerRows(orgId: string, e: GenExecution, p: Price): Cell[][] {
  return e.spans.filter((s) => s.kind === 'llm_call').map((s) => [
    orgId, s.id, s.startedAt.toISOString(), s.spanId, e.id, e.createdAt.toISOString(), e.agentId, e.sessionId,
    PROVIDER, MODEL, p.tier, p.id, s.prompt!, s.completion!, s.prompt! + s.completion!,
    p.input, p.output, p.cached, p.cacheWrite, p.reasoning, spanCost(s, p)!, s.startedAt.toISOString().slice(0, 10),
  ]);
}

export const KEY_COLUMNS = ['org_id', 'kind', 'client_id', 'id', 'item_at'] as const;

export function keyRows(orgId: string, e: GenExecution): Cell[][] {
  return [
    [orgId, 'execution', e.clientId, e.id, e.createdAt.toISOString()],
    ...e.spans.map((s) => [orgId, 'span', s.clientId, s.id, s.startedAt.toISOString()]),
  ];
}

/** COPY text format: tab-separated, \N for NULL, backslash escapes. */
function copyCell(v: Cell): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Rows as COPY text, in chunks of about 1 MB, ready to stream. */
export function copyText(rows: Iterable<Cell[]>): string[] {
  const chunks: string[] = [];
  let cur: string[] = [];
  let size = 0;
  for (const r of rows) {
    const line = `${r.map(copyCell).join('\t')}\n`;
    cur.push(line);
    size += line.length;
    if (size > 1_000_000) {
      chunks.push(cur.join(''));
      cur = [];
      size = 0;
    }
  }
  if (cur.length) chunks.push(cur.join(''));
  return chunks;
}
