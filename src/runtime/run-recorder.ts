/**
 * Everything a run records goes through the runs module's ingestion, so the
 * runtime writes no tracing of its own: the execution (created, then updated
 * by resending its clientId), one llm_call span per model call (priced into
 * the cost ledger and rolled up by the runs module), one tool_call or
 * agent_call span per tool call, and the inter-agent messages of call_agent.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../audit/index.js';
import {
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
import type { RunFrame } from './run-frame.js';
import type { RunOutcome } from './run-types.js';

export const runsDeps = (deps: RuntimeDeps): RunsDeps => ({ db: deps.db, now: deps.now });

/** The actor of writes no request asked for directly (a queued run on the worker). */
export const systemActor = (orgId: string): Actor => ({ orgId, actorType: 'system', userId: null });

export const newSpanId = (): string => randomBytes(8).toString('hex');
export const newTraceId = (): string => randomBytes(16).toString('hex');

/** Ingests the runtime's own items; one that is refused is a bug here, so it fails loudly. */
export async function ingest(deps: RuntimeDeps, actor: Actor, body: IngestBody, opts: IngestOptions = {}): Promise<IngestResult> {
  const r = await ingestBatch(runsDeps(deps), actor, body, opts);
  const bad = r.results.find((x) => x.status === 'rejected');
  if (bad) throw new Error(`the runtime's ${bad.kind} ${bad.clientId} was refused by ingestion: ${bad.error}`);
  return r;
}

export function readExecution(deps: RuntimeDeps, orgId: string, id: string): Promise<ExecutionRow | undefined> {
  return findExecution(runsDeps(deps), orgId, id);
}

/** Token fields as the ingest schema wants them (cached within prompt, reasoning within completion). */
export function tokenFields(u: Usage) {
  const promptTokens = Math.max(0, Math.round(u.promptTokens));
  const completionTokens = Math.max(0, Math.round(u.completionTokens));
  return {
    promptTokens,
    completionTokens,
    cachedTokens: Math.min(promptTokens, Math.max(0, Math.round(u.cachedTokens))),
    reasoningTokens: Math.min(completionTokens, Math.max(0, Math.round(u.reasoningTokens))),
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
    input: c.input,
    output: r ? { content: r.content, toolCalls: r.toolCalls.map((t) => ({ id: t.id, name: t.name, arguments: t.arguments })) } : undefined,
    status: c.error ? 'error' : 'ok',
    errorMessage: c.error?.slice(0, 10_000),
    startedAt: iso(c.startedAt),
    endedAt: iso(c.endedAt),
    attributes: {
      runtimeProvider: frame.provider.label,
      endpoint: frame.provider.endpoint,
      ...(r ? { responseModel: r.model, finishReason: r.finishReason, attempts: r.attempts, latencyMs: r.latencyMs } : {}),
    },
  };
  await ingest(deps, frame.actor, { spans: [span] });
}

export interface ToolSpan {
  kind: 'tool_call' | 'agent_call';
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
        name: c.name,
        toolName: c.name,
        toolStatus: c.isError ? 'error' : 'success',
        stepNumber: c.step,
        input: c.args,
        output: c.output,
        status: c.isError ? 'error' : 'ok',
        errorMessage: c.isError ? errorText(c.output) : undefined,
        startedAt: iso(c.startedAt),
        endedAt: iso(c.endedAt),
        attributes: c.details,
      }),
    ),
  });
}

function errorText(output: unknown): string {
  const e = output && typeof output === 'object' && 'error' in output ? (output as { error: unknown }).error : output;
  return (typeof e === 'string' ? e : JSON.stringify(e)).slice(0, 10_000);
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
    toolCalls: frame.toolCalls,
    ...(outcome.status === 'completed'
      ? { output: { content: outcome.output } }
      : { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage.slice(0, 10_000) }),
  };
  const r = await ingestBatch(runsDeps(deps), frame.actor, { executions: [item] });
  const res = r.results[0]!;
  if (res.status !== 'rejected') return outcome.status;
  const stored = await readExecution(deps, frame.orgId, frame.executionId);
  if (stored && stored.status !== 'running' && stored.status !== 'queued') {
    // Finished elsewhere first (a cancel through the API): keep that, but record what this run spent.
    const totals: ExecutionItemInput = { clientId: frame.clientId, executionTimeMs: item.executionTimeMs, ...tokenFields(frame.usage), toolCalls: frame.toolCalls };
    await ingest(deps, frame.actor, { executions: [totals] });
    return stored.status;
  }
  throw new Error(`the outcome of execution ${frame.executionId} was refused by ingestion: ${res.error}`);
}

/** Moves a queued execution to running; false when it is no longer queued (cancelled meanwhile). */
export async function recordStarted(deps: RuntimeDeps, frame: RunFrame, queuedAt: Date): Promise<boolean> {
  const r = await ingestBatch(runsDeps(deps), frame.actor, {
    executions: [{
      clientId: frame.clientId,
      status: 'running',
      startedAt: iso(frame.startedAt),
      queueTimeMs: Math.max(0, frame.startedAt.getTime() - queuedAt.getTime()),
    }],
  });
  return r.results[0]!.status !== 'rejected';
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
    messageData: { input: m.input },
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
    messageData: { input: m.input },
    sentAt: iso(m.sentAt),
    status: o.ok ? 'processed' : 'failed',
    responseData: o.response,
    responseTimeMs: Math.max(0, o.at.getTime() - m.sentAt.getTime()),
    ...(o.ok ? { processedAt: iso(o.at) } : { errorMessage: (o.error ?? 'failed').slice(0, 10_000) }),
  };
  await ingest(deps, frame.actor, { messages: [item] });
}
