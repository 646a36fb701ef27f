/**
 * Everything a run records goes through the runs module's ingestion, so the
 * runtime writes no tracing of its own: the execution (created, then updated
 * by resending its clientId), one llm_call span per model call (priced into
 * the cost ledger and rolled up by the runs module), one tool_call,
 * agent_call or memory_access span per tool call, a memory_access span per
 * memory recall, and the inter-agent messages of call_agent.
 * Its clientIds (run:…) are reserved: only writes from here may use them.
 * Model and tool data is made storable first (storable.ts), so what a model
 * or an API sends back cannot make the recording, and so the run, fail.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../audit/index.js';
import { invalidate } from '../cache/index.js';
import {
  COSTS_CACHE_TAG,
  findExecution,
  ingestBatch,
  type ExecutionItemInput,
  type ExecutionRow,
  type IngestBody,
  type IngestOptions,
  type IngestResult,
  type MessageItemInput,
  type RunsDeps,
  type SpanItemInput,
} from '../runs/index.js';
import type { RuntimeDeps } from './deps.js';
import type { ChatResult, Usage } from './providers/index.js';
import type { RunFrame, ToolCallSummary } from './run-frame.js';
import { startQueuedExecution } from './run-start-repo.js';
import type { RunOutcome } from './run-types.js';
import { storableJson, storableObject, storableText } from './storable.js';

export const runsDeps = (deps: RuntimeDeps): RunsDeps => ({ db: deps.db, now: deps.now });

/** The actor of writes no request asked for directly (a queued run on the worker). */
export const systemActor = (orgId: string): Actor => ({ orgId, actorType: 'system', userId: null });

export const newSpanId = (): string => randomBytes(8).toString('hex');
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** The runtime's own writes: they alone may use the reserved run: clientIds, and they are runs, not telemetry. */
export function ingestOwn(deps: RuntimeDeps, actor: Actor, body: IngestBody, opts: IngestOptions = {}): Promise<IngestResult> {
  return ingestBatch(runsDeps(deps), actor, body, { ...opts, allowReservedClientIds: true, telemetry: false, sessionIdsResolved: true });
}

/** Ingests the runtime's own items; one that is refused is a bug here, so it fails loudly. */
export async function ingest(deps: RuntimeDeps, actor: Actor, body: IngestBody, opts: IngestOptions = {}): Promise<IngestResult> {
  const r = await ingestOwn(deps, actor, body, opts);
  const bad = r.results.find((x) => x.status === 'rejected');
  if (bad) throw new Error(`the runtime's ${bad.kind} ${bad.clientId} was refused by ingestion: ${bad.error}`);
  return r;
}

export function readExecution(deps: RuntimeDeps, orgId: string, id: string): Promise<ExecutionRow | undefined> {
  return findExecution(runsDeps(deps), orgId, id);
}

/** Half the ingest schema's maximum count, so prompt + completion stays within it too. */
const MAX_TOKEN_FIELD = 1_000_000_000;
const tokenCount = (n: number) => Math.min(MAX_TOKEN_FIELD, Math.max(0, Math.round(Number.isFinite(n) ? n : 0)));

/**
 * Token fields as the ingest schema wants them (cached within prompt, reasoning
 * within completion), within its range whatever an endpoint reported.
 */
export function tokenFields(u: Usage) {
  const promptTokens = tokenCount(u.promptTokens);
  const completionTokens = tokenCount(u.completionTokens);
  return {
    promptTokens,
    completionTokens,
    cachedTokens: Math.min(promptTokens, tokenCount(u.cachedTokens)),
    reasoningTokens: Math.min(completionTokens, tokenCount(u.reasoningTokens)),
    totalTokens: promptTokens + completionTokens,
  };
}

const iso = (d: Date) => d.toISOString();

export interface LlmCall {
  step: number;
  startedAt: Date;
  endedAt: Date;
  /** the messages added since the previous call (the whole prompt for the first) */
  input: unknown;
  result?: ChatResult;
  error?: string;
}

export async function recordLlmCall(deps: RuntimeDeps, frame: RunFrame, c: LlmCall): Promise<void> {
  const r = c.result;
  const span: SpanItemInput = {
    clientId: `${frame.clientId}/llm/${c.step}`,
    executionClientId: frame.clientId,
    kind: 'llm_call',
    traceId: frame.traceId,
    spanId: newSpanId(),
    parentSpanId: frame.spanId,
    name: `chat ${frame.version.model}`,
    model: frame.version.model,
    provider: frame.priceProvider ?? frame.provider.label,
    ...(r ? tokenFields(r.usage) : {}),
    stepNumber: c.step,
    input: storableJson(c.input),
    output: r ? storableJson({ content: r.content, toolCalls: r.toolCalls.map((t) => ({ id: t.id, name: t.name, arguments: t.arguments })) }) : undefined,
    status: c.error ? 'error' : 'ok',
    errorMessage: c.error === undefined ? undefined : storableText(c.error, 10_000),
    startedAt: iso(c.startedAt),
    endedAt: iso(c.endedAt),
    attributes: storableObject({
      runtimeProvider: frame.provider.label,
      endpoint: frame.provider.endpoint,
      ...(r ? { responseModel: r.model, finishReason: r.finishReason, attempts: r.attempts, latencyMs: r.latencyMs } : {}),
    }),
  };
  await ingest(deps, frame.actor, { spans: [span] });
}

export interface ToolSpan {
  kind: 'tool_call' | 'agent_call' | 'memory_access' | 'reasoning_step';
  step: number;
  index: number;
  spanId: string;
  name: string;
  args: unknown;
  output: unknown;
  isError: boolean;
  details: Record<string, unknown> | undefined;
  startedAt: Date;
  endedAt: Date;
}

export async function recordToolCalls(deps: RuntimeDeps, frame: RunFrame, calls: ToolSpan[]): Promise<void> {
  if (!calls.length) return;
  await ingest(deps, frame.actor, {
    spans: calls.map(
      (c): SpanItemInput => ({
        clientId: `${frame.clientId}/tool/${c.step}/${c.index}`,
        executionClientId: frame.clientId,
        kind: c.kind,
        traceId: frame.traceId,
        spanId: c.spanId,
        parentSpanId: frame.spanId,
        name: spanName(c.name),
        toolName: storableText(c.name, 100),
        toolStatus: c.isError ? 'error' : 'success',
        stepNumber: c.step,
        input: storableJson(c.args),
        output: storableJson(c.output),
        status: c.isError ? 'error' : 'ok',
        errorMessage: c.isError ? errorText(c.output) : undefined,
        startedAt: iso(c.startedAt),
        endedAt: iso(c.endedAt),
        attributes: storableObject(c.details),
      }),
    ),
  });
}

/** A memory read or write the runtime made itself (recall before the model call), as a memory_access span. */
export interface MemorySpan {
  /** unique within the execution: the span's clientId ends with it */
  key: string;
  name: string;
  step: number;
  startedAt: Date;
  endedAt: Date;
  input: unknown;
  output: unknown;
  /** query, hits (ids and scores), latencyMs, … */
  attributes: Record<string, unknown>;
  error?: string | undefined;
}

export async function recordMemoryAccess(deps: RuntimeDeps, frame: Pick<RunFrame, 'clientId' | 'traceId' | 'spanId' | 'actor'>, s: MemorySpan): Promise<void> {
  await ingest(deps, frame.actor, {
    spans: [{
      clientId: `${frame.clientId}/memory/${s.key}`,
      executionClientId: frame.clientId,
      kind: 'memory_access',
      traceId: frame.traceId,
      spanId: newSpanId(),
      parentSpanId: frame.spanId,
      name: s.name,
      stepNumber: s.step,
      input: storableJson(s.input),
      output: storableJson(s.output),
      status: s.error ? 'error' : 'ok',
      errorMessage: s.error === undefined ? undefined : storableText(s.error, 10_000),
      startedAt: iso(s.startedAt),
      endedAt: iso(s.endedAt),
      attributes: storableObject(s.attributes),
    }],
  });
}

/** A tool name as the model sent it, as a span name (1–255 characters). */
function spanName(name: string): string {
  return storableText(name.trim(), 255) || '(no name)';
}

function errorText(output: unknown): string {
  const e = output && typeof output === 'object' && 'error' in output ? (output as { error: unknown }).error : output;
  return storableText(typeof e === 'string' ? e : (JSON.stringify(storableJson(e)) ?? 'null'), 10_000);
}

/** How many tool calls executions.tool_calls lists (ingestion takes at most 1000 entries). */
export const TOOL_CALLS_KEPT = 500;

/** The first TOOL_CALLS_KEPT calls, then one entry counting the rest. */
export function toolCallsSummary(calls: readonly ToolCallSummary[]): unknown[] {
  const kept: unknown[] = calls.slice(0, TOOL_CALLS_KEPT).map((c) => storableJson(c));
  if (calls.length > TOOL_CALLS_KEPT) kept.push({ omitted: calls.length - TOOL_CALLS_KEPT, total: calls.length });
  return kept;
}

/**
 * Records how the run ended. Tokens are the loop's counts; where the runs
 * module priced the calls, its roll-up of the ledger replaces them (the same
 * numbers) and sets the cost. Returns the status as stored: a run cancelled
 * through the API meanwhile stays cancelled, whatever the loop concluded.
 */
export async function recordOutcome(deps: RuntimeDeps, frame: RunFrame, outcome: RunOutcome, endedAt: Date): Promise<string> {
  const item: ExecutionItemInput = {
    clientId: frame.clientId,
    status: outcome.status,
    completedAt: iso(endedAt),
    executionTimeMs: Math.max(0, endedAt.getTime() - frame.startedAt.getTime()),
    ...tokenFields(frame.usage),
    toolCalls: toolCallsSummary(frame.toolCalls),
    ...(outcome.status === 'completed'
      ? { output: { content: storableText(outcome.output) } }
      : { errorCode: storableText(outcome.errorCode, 100), errorMessage: storableText(outcome.errorMessage, 10_000) }),
  };
  const r = await ingestOwn(deps, frame.actor, { executions: [item] });
  const res = r.results[0]!;
  if (res.status !== 'rejected') return outcome.status;
  const stored = await readExecution(deps, frame.orgId, frame.executionId);
  if (stored && stored.status !== 'running' && stored.status !== 'queued') {
    // Finished elsewhere first (a cancel through the API): keep that, but record what this run spent.
    const totals: ExecutionItemInput = { clientId: frame.clientId, executionTimeMs: item.executionTimeMs, ...tokenFields(frame.usage), toolCalls: item.toolCalls };
    await ingest(deps, frame.actor, { executions: [totals] });
    return stored.status;
  }
  throw new Error(`the outcome of execution ${frame.executionId} was refused by ingestion: ${res.error}`);
}

/**
 * recordOutcome, and when the outcome itself cannot be recorded (ingestion
 * refused it, or the database failed) a bare failed status, so the execution
 * does not stay running for ever; the error then goes up (a 500, or the job's retry).
 */
export async function recordOutcomeOrFail(deps: RuntimeDeps, frame: RunFrame, outcome: RunOutcome, endedAt: Date): Promise<string> {
  try {
    return await recordOutcome(deps, frame, outcome, endedAt);
  } catch (err) {
    deps.log?.error({ err, executionId: frame.executionId }, 'the outcome of an agent run could not be recorded');
    await recordFailedFallback(deps, frame, endedAt);
    throw err;
  }
}

/** A failed status with nothing else; whether it could be written. */
async function recordFailedFallback(deps: RuntimeDeps, frame: RunFrame, endedAt: Date): Promise<boolean> {
  try {
    const r = await ingestOwn(deps, frame.actor, {
      executions: [{
        clientId: frame.clientId,
        status: 'failed',
        completedAt: iso(endedAt),
        errorCode: 'internal',
        errorMessage: 'the outcome of the run could not be recorded; the execution id identifies it in the server log',
      }],
    });
    return r.results[0]!.status !== 'rejected';
  } catch (err) {
    deps.log?.error({ err, executionId: frame.executionId }, 'could not record even a failed status for the run');
    return false;
  }
}

/**
 * Moves a queued execution to running, compare-and-set (run-start-repo.ts):
 * false when it is no longer queued (cancelled, or started by another delivery).
 */
export function recordStarted(deps: RuntimeDeps, frame: RunFrame, queuedAt: Date): Promise<boolean> {
  return deps.db.tenant(frame.orgId, async (sql) => {
    const started = await startQueuedExecution(sql, frame.orgId, {
      id: frame.executionId,
      createdAt: queuedAt,
      startedAt: frame.startedAt,
      queueTimeMs: frame.startedAt.getTime() - queuedAt.getTime(),
    });
    // the status moved in execution_stats_daily: cached performance reports are stale
    if (started) await invalidate(sql, frame.orgId, [COSTS_CACHE_TAG]);
    return started;
  });
}

export interface AgentMessage {
  clientId: string;
  from: { id: string; slug: string };
  to: { id: string; slug: string };
  input: unknown;
  sentAt: Date;
}

/** An agent-to-agent call, as seed 000 agent_communications: sent now, then processed or failed. */
export async function recordMessageSent(deps: RuntimeDeps, frame: RunFrame, m: AgentMessage): Promise<void> {
  const item: MessageItemInput = {
    clientId: m.clientId,
    executionClientId: frame.clientId,
    sessionId: frame.sessionId,
    fromAgentId: m.from.id,
    toAgentId: m.to.id,
    fromAgent: m.from.slug,
    toAgent: m.to.slug,
    messageType: 'agent_call',
    messageData: storableObject({ input: m.input })!,
    status: 'sent',
    sentAt: iso(m.sentAt),
    traceId: frame.traceId,
    correlationId: frame.executionId,
  };
  await ingest(deps, frame.actor, { messages: [item] });
}

export async function recordMessageOutcome(
  deps: RuntimeDeps,
  frame: RunFrame,
  m: AgentMessage,
  o: { ok: boolean; response: Record<string, unknown>; error?: string; at: Date },
): Promise<void> {
  const item: MessageItemInput = {
    clientId: m.clientId,
    fromAgentId: m.from.id,
    messageType: 'agent_call',
    messageData: storableObject({ input: m.input })!,
    sentAt: iso(m.sentAt),
    status: o.ok ? 'processed' : 'failed',
    responseData: storableObject(o.response),
    responseTimeMs: Math.max(0, o.at.getTime() - m.sentAt.getTime()),
    ...(o.ok ? { processedAt: iso(o.at) } : { errorMessage: storableText(o.error ?? 'failed', 10_000) }),
  };
  await ingest(deps, frame.actor, { messages: [item] });
}
