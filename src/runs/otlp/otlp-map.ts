import type { AttrValue, Attributes, OtlpRequest, OtlpScopeSpans, OtlpSpan } from './otlp-json.js';
import { slugify } from '../../agents/index.js';

/**
 * OTLP spans (GenAI semantic conventions) to the batch items of
 * POST /v1/ingest/batch. One execution per trace, clientId otlp:<traceId>:
 * exporters send a span when it ends, children before parents, so the span
 * that describes the whole run may come in a later request than its children;
 * keying the execution on the trace keeps it one execution whatever the batching.
 *
 * Tokens: current GenAI conventions say gen_ai.usage.cache_read.input_tokens and
 * cache_creation.input_tokens SHOULD be included in gen_ai.usage.input_tokens, and
 * reasoning.output_tokens in output_tokens — the same convention as ours
 * (migrations/0006_runs.sql). Some instrumentations copy Anthropic's usage, where
 * input excludes the cache; when the parts exceed the whole the sender evidently
 * counted them apart, so they are added to it rather than clipped (clipping
 * would under-price the cache reads).
 */

export interface MappedBatch {
  body: { executions: Record<string, unknown>[]; spans: Record<string, unknown>[] };
  /** Execution clientIds that may create an execution but never update one. */
  createOnly: Set<string>;
  /** Spans refused before ingestion (unusable ids or fields), with the reason. */
  rejected: { clientId: string | null; reason: string }[];
}

interface Entry {
  span: OtlpSpan;
  resource: Attributes;
  scope: OtlpScopeSpans['scope'];
}

const LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings']);
const AGENT_OPERATIONS = new Set(['invoke_agent', 'create_agent']);
const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_MS = 2_000_000_000;
const MAX_VALUE_DEPTH = 24;

export const executionClientId = (traceId: string) => `otlp:${traceId}`;
export const spanClientId = (traceId: string, spanId: string) => `otlp:${traceId}:${spanId}`;

/** Cuts to at most max UTF-16 units without splitting a surrogate pair (a lone half is unstorable). */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const str = (v: AttrValue | undefined): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function count(v: AttrValue | undefined): number | undefined {
  const n = typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const first = <T>(...xs: (T | undefined)[]): T | undefined => xs.find((x) => x !== undefined);

/** Unix nanoseconds to an ISO instant with microseconds (PostgreSQL's precision), so spans within one millisecond keep their order. */
export function nsToIso(ns: bigint): string {
  const ms = new Date(Number(ns / 1_000_000n)).toISOString();
  const micros = ((ns / 1000n) % 1000n).toString().padStart(3, '0');
  return `${ms.slice(0, -1)}${micros}Z`;
}

const msBetween = (from: bigint, to: bigint): number | undefined => {
  const ms = Number((to - from) / 1_000_000n);
  return ms >= 0 && ms <= MAX_MS ? ms : undefined;
};

/** Whether v nests deeper than max; stops descending there, so huge or deep values cost little. */
function deeper(v: unknown, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (max <= 0) return true;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (deeper(x, max - 1)) return true;
  return false;
}

/** A tool's arguments or result: JSON text becomes its value, anything else stays as sent. */
function jsonish(v: AttrValue | undefined): unknown {
  if (typeof v !== 'string') return v ?? undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return deeper(parsed, MAX_VALUE_DEPTH) ? v : parsed;
  } catch {
    return v;
  }
}

interface Tokens {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  totalTokens?: number;
}

export function tokensOf(a: Attributes): Tokens {
  const input = first(count(a['gen_ai.usage.input_tokens']), count(a['gen_ai.usage.prompt_tokens']));
  const output = first(count(a['gen_ai.usage.output_tokens']), count(a['gen_ai.usage.completion_tokens']));
  const cached = first(count(a['gen_ai.usage.cache_read.input_tokens']), count(a['gen_ai.usage.cache_read_input_tokens']));
  const cacheWrite = first(count(a['gen_ai.usage.cache_creation.input_tokens']), count(a['gen_ai.usage.cache_creation_input_tokens']));
  const reasoning = first(count(a['gen_ai.usage.reasoning.output_tokens']), count(a['gen_ai.usage.reasoning_tokens']));
  const t: Tokens = {};
  const parts = (cached ?? 0) + (cacheWrite ?? 0);
  if (input !== undefined || parts > 0) t.promptTokens = parts > (input ?? 0) ? (input ?? 0) + parts : input;
  if (output !== undefined || (reasoning ?? 0) > 0) t.completionTokens = (reasoning ?? 0) > (output ?? 0) ? (output ?? 0) + reasoning! : output;
  if (cached !== undefined) t.cachedTokens = cached;
  if (cacheWrite !== undefined) t.cacheWriteTokens = cacheWrite;
  if (reasoning !== undefined) t.reasoningTokens = reasoning;
  if (t.promptTokens !== undefined || t.completionTokens !== undefined) t.totalTokens = (t.promptTokens ?? 0) + (t.completionTokens ?? 0);
  return t;
}

const modelOf = (a: Attributes) => first(str(a['gen_ai.response.model']), str(a['gen_ai.request.model']));
const providerOf = (a: Attributes) => first(str(a['gen_ai.provider.name']), str(a['gen_ai.system']));
const operationOf = (s: OtlpSpan) => str(s.attributes['gen_ai.operation.name']);

export function kindOf(s: OtlpSpan): 'llm_call' | 'tool_call' | 'agent_call' | 'other' {
  const op = operationOf(s);
  if (op && LLM_OPERATIONS.has(op)) return modelOf(s.attributes) ? 'llm_call' : 'other';
  if (op === 'execute_tool') return 'tool_call';
  if (op && AGENT_OPERATIONS.has(op)) return 'agent_call';
  return 'other';
}

const statusOf = (s: OtlpSpan) => (s.status.code === 2 ? 'error' : s.status.code === 1 ? 'ok' : 'unset');

/** Why a span cannot be stored at all, or null. */
function problemOf(s: OtlpSpan): string | null {
  if (s.problem) return s.problem;
  if (!/^[0-9a-f]{32}$/.test(s.traceId) || /^0+$/.test(s.traceId)) return 'traceId must be 16 bytes and not all zero';
  if (!/^[0-9a-f]{16}$/.test(s.spanId) || /^0+$/.test(s.spanId)) return 'spanId must be 8 bytes and not all zero';
  if (s.parentSpanId !== undefined && !/^[0-9a-f]{16}$/.test(s.parentSpanId)) return 'parentSpanId must be 8 bytes';
  if (s.startNs === 0n) return 'startTimeUnixNano is missing';
  return null;
}

function spanItem({ span: s, resource, scope }: Entry): Record<string, unknown> {
  const a = s.attributes;
  const kind = kindOf(s);
  const attributes: Record<string, unknown> = { ...a };
  if (scope.name) attributes['otel.scope.name'] = scope.name;
  if (scope.version) attributes['otel.scope.version'] = scope.version;
  if (s.kind > 0 && s.kind < SPAN_KINDS.length) attributes['otel.span.kind'] = SPAN_KINDS[s.kind];
  if (Object.keys(resource).length) attributes['otel.resource'] = resource;
  if (s.events.length) attributes['otel.events'] = s.events.map((e) => ({ name: e.name, time: nsToIso(e.timeNs), attributes: e.attributes }));
  if (s.links.length) attributes['otel.links'] = s.links;

  const item: Record<string, unknown> = {
    clientId: spanClientId(s.traceId, s.spanId),
    executionClientId: executionClientId(s.traceId),
    kind,
    traceId: s.traceId,
    spanId: s.spanId,
    name: clip(s.name.trim() || 'unknown', 255),
    status: statusOf(s),
    startedAt: nsToIso(s.startNs),
    attributes,
  };
  if (s.parentSpanId) item.parentSpanId = s.parentSpanId;
  if (s.endNs > 0n) {
    item.endedAt = nsToIso(s.endNs);
    const d = msBetween(s.startNs, s.endNs);
    if (d !== undefined) item.durationMs = d;
  }
  if (s.status.code === 2 && s.status.message) item.errorMessage = clip(s.status.message, 10_000);
  if (kind === 'llm_call') {
    item.model = clip(modelOf(a)!, 100);
    const provider = providerOf(a);
    if (provider) item.provider = clip(provider, 50);
    Object.assign(item, tokensOf(a));
    // The conversation, when the instrumentation records it (opt-in in the conventions).
    const input = jsonish(a['gen_ai.input.messages']);
    const output = jsonish(a['gen_ai.output.messages']);
    if (input !== undefined) item.input = input;
    if (output !== undefined) item.output = output;
  }
  if (kind === 'tool_call') {
    const tool = str(a['gen_ai.tool.name']);
    if (tool) item.toolName = clip(tool, 100);
    item.toolStatus = statusOf(s);
    const input = jsonish(a['gen_ai.tool.call.arguments']);
    const output = jsonish(a['gen_ai.tool.call.result']);
    if (input !== undefined) item.input = input;
    if (output !== undefined) item.output = output;
  }
  return item;
}

/**
 * An agent id or name as an agent slug, derived the way the agents module
 * derives one from a name ("Trip Planner" → "trip-planner"), so an agent
 * created under the same name resolves. Nothing sluggable → undefined.
 */
export function slugOf(s: string | undefined): string | undefined {
  return s && /[a-z0-9]/i.test(s.normalize('NFKD')) ? slugify(s) : undefined;
}

const describesAgent = (s: OtlpSpan) =>
  AGENT_OPERATIONS.has(operationOf(s) ?? '') || str(s.attributes['gen_ai.agent.id']) !== undefined || str(s.attributes['gen_ai.agent.name']) !== undefined;

/** The invoke_agent span with no invoke_agent ancestor among the given spans (the earliest if several). */
function outermostAgent(spans: Entry[]): Entry | undefined {
  const byId = new Map(spans.map((e) => [e.span.spanId, e]));
  const isAgent = (e: Entry) => operationOf(e.span) === 'invoke_agent';
  const outer = spans.filter((e) => {
    if (!isAgent(e)) return false;
    const seen = new Set<string>();
    for (let p = e.span.parentSpanId; p && !seen.has(p); p = byId.get(p)?.span.parentSpanId) {
      seen.add(p);
      const parent = byId.get(p);
      if (parent && isAgent(parent)) return false;
    }
    return true;
  });
  return earliest(outer);
}

const earliest = (xs: Entry[]): Entry | undefined =>
  xs.reduce<Entry | undefined>((m, e) => (!m || e.span.startNs < m.span.startNs ? e : m), undefined);

/** Agent identity, conversation and model from the span that describes the agent run, falling back to the root. */
function agentFields(info: Entry, root: Entry | undefined): Record<string, unknown> {
  const a = info.span.attributes;
  const r = root?.span.attributes ?? {};
  const out: Record<string, unknown> = {};
  const id = str(a['gen_ai.agent.id']);
  const name = str(a['gen_ai.agent.name']);
  const description = str(a['gen_ai.agent.description']);
  if (id && UUID.test(id)) out.agentId = id.toLowerCase();
  else {
    const slug = slugOf(id ?? name);
    if (slug) out.agentSlug = slug;
  }
  const session = first(str(a['gen_ai.conversation.id']), str(r['gen_ai.conversation.id']));
  if (session) out.sessionId = clip(session, 255);
  const model = first(modelOf(a), modelOf(r));
  const provider = first(providerOf(a), providerOf(r));
  if (model) out.modelName = clip(model, 100);
  if (provider) out.modelProvider = clip(provider, 50);
  const metadata: Record<string, unknown> = {};
  if (id || name || description) {
    metadata.genAiAgent = Object.fromEntries(Object.entries({ id, name, description }).filter(([, v]) => v !== undefined));
  }
  const resource = (root ?? info).resource;
  if (Object.keys(resource).length) metadata.resource = resource;
  if (Object.keys(metadata).length) out.metadata = metadata;
  return out;
}

/**
 * The execution of one trace. Always created (status running) by the first
 * request that carries any of its spans; the request that carries the root
 * span completes it (completed or failed, times, agent, conversation), and that
 * item is the only one allowed to update an existing execution, so a later
 * child-only request never resets it.
 */
function executionItem(traceId: string, spans: Entry[]): { item: Record<string, unknown>; createOnly: boolean } {
  const item: Record<string, unknown> = { clientId: executionClientId(traceId), traceId, status: 'running' };
  const root = earliest(spans.filter((e) => !e.span.parentSpanId));
  const info = root && describesAgent(root.span) ? root : outermostAgent(spans);
  if (info) Object.assign(item, agentFields(info, root));
  if (!root) {
    item.createdAt = nsToIso(earliest(spans)!.span.startNs);
    if (info) item.startedAt = nsToIso(info.span.startNs);
    return { item, createOnly: true };
  }
  // No createdAt: it defaults to startedAt for a new execution, and it is the
  // partition key of an existing one, which an update must not try to move.
  const s = root.span;
  item.spanId = s.spanId;
  item.startedAt = nsToIso(s.startNs);
  item.status = s.status.code === 2 ? 'failed' : 'completed';
  if (s.endNs > 0n) {
    item.completedAt = nsToIso(s.endNs);
    const d = msBetween(s.startNs, s.endNs);
    if (d !== undefined) item.executionTimeMs = d;
  }
  if (s.status.code === 2 && s.status.message) item.errorMessage = clip(s.status.message, 10_000);
  return { item, createOnly: false };
}

export function mapOtlp(req: OtlpRequest): MappedBatch {
  const out: MappedBatch = { body: { executions: [], spans: [] }, createOnly: new Set(), rejected: [] };
  const traces = new Map<string, Entry[]>();
  for (const rs of req.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const problem = problemOf(span);
        if (problem) {
          const valid = /^[0-9a-f]{32}$/.test(span.traceId) && /^[0-9a-f]{16}$/.test(span.spanId);
          out.rejected.push({ clientId: valid ? spanClientId(span.traceId, span.spanId) : null, reason: problem });
          continue;
        }
        const list = traces.get(span.traceId) ?? [];
        list.push({ span, resource: rs.resource, scope: ss.scope });
        traces.set(span.traceId, list);
      }
    }
  }
  for (const [traceId, spans] of traces) {
    const { item, createOnly } = executionItem(traceId, spans);
    out.body.executions.push(item);
    if (createOnly) out.createOnly.add(item.clientId as string);
    for (const e of spans) out.body.spans.push(spanItem(e));
  }
  return out;
}
