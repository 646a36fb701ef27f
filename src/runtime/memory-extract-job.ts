/**
 * Extraction after a run (task memory.extract, queue memory): when the
 * effective memory config of an agent with memory has extractAfterRun, a
 * completed top-level run queues a job that asks the agent's own model (the
 * version that ran, through providerForAgent like the run's own calls) for
 * the facts and preferences in the conversation, as JSON, and saves each as a
 * fact or preference memory, superseding its nearest live fact or preference
 * when that is at least dedupeThreshold similar (saveDeduplicated).
 *
 * Where it is recorded: as an execution of its own, a child of the run
 * (parent_execution_id, parent span, same trace), holding the llm_call span
 * (priced into the cost ledger like any model call) and a memory_access span
 * for the writes. Not as spans of the run's execution: that one was finished
 * and answered when the job runs, and its tokens, cost and status are what its
 * caller was told; the extraction's cost still shows in the run's trace, under
 * the agent, in the organization's spend and in its monthly budget.
 *
 * Failure: an answer that is not the asked-for JSON fails the extraction
 * execution (error_code malformed_output) and the job, permanently and with
 * the reason, before anything is written; the memories of one answer are
 * written in one transaction, so it is all of them or none. A model call that
 * failed in a way a retry can cure (a 429, a timeout) is retried by the job.
 * A retry after a write (a crash before the job's outcome was recorded) finds
 * its own memories at similarity 1 and supersedes them: no duplicates.
 */
import { z } from 'zod';
import { getAgent, getAgentVersion } from '../agents/index.js';
import { AppError } from '../errors.js';
import { enqueue, PermanentJobError, type JobHandler } from '../jobs/index.js';
import { saveDeduplicated, type DedupedSave, type MemoryModule } from '../memory/index.js';
import { findModelPrice, type ExecutionItemInput, type SpanItemInput } from '../runs/index.js';
import type { RuntimeDeps } from './deps.js';
import { extractionMessages, readExtraction, type ExtractedMemory } from './memory-extract-output.js';
import { providerForAgent } from './provider-for-agent.js';
import { ProviderError, type ChatResult } from './providers/index.js';
import type { RunFrame } from './run-frame.js';
import { ingest, newSpanId, newTraceId, readExecution, runsDeps, systemActor, tokenFields } from './run-recorder.js';
import type { RunInput } from './run-types.js';
import { storableJson, storableObject, storableText } from './storable.js';

export const MEMORY_EXTRACT_TASK = 'memory.extract';
const QUEUE = 'memory';
/** Enough completion for MAX_EXTRACTED short sentences of JSON. */
const EXTRACT_MAX_TOKENS = 2048;

const Payload = z.object({ executionId: z.uuid() });

/**
 * After a run's outcome is recorded: queues its extraction when it completed,
 * is a top-level run (a child's input is another agent's message, not the
 * user's conversation) of an agent with memory, and extractAfterRun is on.
 * The run is finished whatever happens here: a failure to queue is logged.
 */
export async function queueMemoryExtraction(deps: RuntimeDeps, frame: RunFrame, status: string): Promise<void> {
  const m = deps.memory;
  if (!m || !frame.memory || frame.depth > 0 || status !== 'completed') return;
  try {
    if (!(await m.settingsFor(frame.orgId, frame.agent.id)).extractAfterRun) return;
    await enqueue({ db: deps.db }, frame.orgId, {
      queue: QUEUE, task: MEMORY_EXTRACT_TASK, payload: { executionId: frame.executionId }, maxAttempts: 3,
      idempotencyKey: `extract:${frame.executionId}`,
    });
  } catch (err) {
    deps.log?.error({ err, executionId: frame.executionId }, 'could not queue the memory extraction of a run');
  }
}

export function memoryExtractHandler(deps: RuntimeDeps): JobHandler {
  return async (job, ctx) => {
    const p = Payload.safeParse(job.payload);
    if (!p.success) throw new PermanentJobError(`memory.extract needs the payload {"executionId": "<uuid>"}: ${p.error.issues[0]!.message}`);
    if (!deps.memory) throw new PermanentJobError('this service runs without the memory module');
    return extractMemories(deps, deps.memory, job.orgId, p.data.executionId, { attempt: job.attempts, signal: ctx.signal });
  };
}

export interface ExtractionResult {
  executionId: string;
  extractionExecutionId?: string;
  saved?: string[];
  superseded?: DedupedSave['superseded'];
  skipped?: string;
}

/** What the extraction execution ended with, before it is recorded. */
type Ending =
  | { ok: true; saved: DedupedSave; memories: ExtractedMemory[] }
  | { ok: false; errorCode: string; message: string; retry: boolean };

export async function extractMemories(
  deps: RuntimeDeps,
  m: MemoryModule,
  orgId: string,
  executionId: string,
  opts: { attempt: number; signal?: AbortSignal },
): Promise<ExtractionResult> {
  const row = await readExecution(deps, orgId, executionId);
  if (!row?.clientId?.startsWith('run:')) throw new PermanentJobError(`execution ${executionId} is not a run of the agent runtime`);
  if (row.status !== 'completed' || !row.agentId || !row.agentVersionId) {
    throw new PermanentJobError(`execution ${executionId} is ${row.status}; only a completed run's conversation is extracted`);
  }
  const settings = await m.settingsFor(orgId, row.agentId);
  if (!settings.extractAfterRun) return { executionId, skipped: 'extractAfterRun was turned off for this agent since the run' };

  let resolved;
  try {
    const agent = await getAgent({ db: deps.db }, orgId, row.agentId);
    const version = await getAgentVersion({ db: deps.db }, orgId, agent.id, row.agentVersionId);
    const modelSettings = (version.config as { modelSettings?: Record<string, unknown> }).modelSettings ?? {};
    resolved = { agent, version, provider: await providerForAgent(deps, orgId, agent.slug, modelSettings, version.model) };
  } catch (err) {
    // A host that did not resolve just now: the retry may do. Anything else (agent deleted, misconfigured) will not change.
    if (err instanceof AppError && err.status !== 503) throw new PermanentJobError(`the agent of execution ${executionId} cannot be called: ${err.message}`);
    throw err;
  }
  const { agent, version, provider } = resolved;
  const price = await findModelPrice(runsDeps(deps), orgId, version.model, new Date().toISOString());

  const input = ((row.input ?? {}) as { input?: RunInput }).input ?? '';
  const outputContent = ((row.output ?? {}) as { content?: unknown }).content;
  const messages = extractionMessages(input, typeof outputContent === 'string' ? outputContent : '');
  const startedAt = new Date();
  let result: ChatResult | undefined;
  let ending: Ending | undefined;
  try {
    result = await provider.provider.complete({ messages, temperature: 0, maxTokens: EXTRACT_MAX_TOKENS }, opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    ending = { ok: false, errorCode: 'provider_error', message: `the model call failed: ${err.message}`, retry: err.retryable };
  }
  const callEndedAt = new Date();
  let write: { startedAt: Date; endedAt: Date; latencyMs: number } | undefined;
  if (result) {
    const reading = readExtraction(result.content);
    if (!reading.ok) ending = { ok: false, errorCode: 'malformed_output', message: `the model's extraction could not be used: ${reading.problem}`, retry: false };
    else {
      const w0 = performance.now();
      const writeStarted = new Date();
      try {
        const saved = await saveDeduplicated(m, systemActor(orgId), agent.id, reading.memories.map((x) => ({
          content: x.content,
          memoryType: x.type,
          ...(x.importance !== undefined ? { importance: x.importance } : {}),
          ...(row.sessionId ? { sessionId: row.sessionId } : {}),
          executionId: row.id,
          userId: row.userId,
          metadata: { extractedFrom: row.id },
        })), settings.dedupeThreshold);
        ending = { ok: true, saved, memories: reading.memories };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        ending = { ok: false, errorCode: 'memory_write_failed', message: `the memories could not be saved: ${err.message}`, retry: err.status >= 500 };
      }
      write = { startedAt: writeStarted, endedAt: new Date(), latencyMs: Math.round(performance.now() - w0) };
    }
  }
  const end = ending!;

  // One batch: the extraction execution, its llm_call span and (when a write was tried) its memory_access span.
  const clientId = `${row.clientId}/extract/${opts.attempt}`;
  const traceId = row.traceId ?? newTraceId();
  const spanId = newSpanId();
  const endedAt = new Date();
  const execution: ExecutionItemInput = {
    clientId,
    agentId: agent.id,
    agentVersionId: version.id,
    ...(row.userId ? { userId: row.userId } : {}),
    ...(row.sessionId ? { sessionId: row.sessionId } : {}),
    parentExecutionId: row.id,
    ...(row.spanId ? { parentSpanId: row.spanId } : {}),
    traceId,
    spanId,
    modelProvider: provider.label,
    modelName: version.model,
    input: { extractFrom: row.id },
    status: end.ok ? 'completed' : 'failed',
    createdAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    completedAt: endedAt.toISOString(),
    executionTimeMs: Math.max(0, endedAt.getTime() - startedAt.getTime()),
    ...(result ? tokenFields(result.usage) : {}),
    ...(end.ok
      ? { output: { memories: storableJson(end.memories), saved: end.saved.rows.map((r) => r.id), superseded: end.saved.superseded } }
      : { errorCode: end.errorCode, errorMessage: storableText(end.message, 10_000) }),
    metadata: { runtime: { mode: 'async', kind: MEMORY_EXTRACT_TASK, version: version.version } },
  };
  const spans: SpanItemInput[] = [{
    clientId: `${clientId}/llm`,
    executionClientId: clientId,
    kind: 'llm_call',
    traceId,
    spanId: newSpanId(),
    parentSpanId: spanId,
    name: `extract memories ${version.model}`,
    model: version.model,
    provider: price?.provider ?? provider.label,
    ...(result ? tokenFields(result.usage) : {}),
    stepNumber: 1,
    input: storableJson(messages),
    output: result ? storableJson({ content: result.content }) : undefined,
    status: result ? 'ok' : 'error',
    errorMessage: result ? undefined : storableText(end.ok ? '' : end.message, 10_000),
    startedAt: startedAt.toISOString(),
    endedAt: callEndedAt.toISOString(),
    attributes: storableObject({
      runtimeProvider: provider.label, endpoint: provider.endpoint,
      ...(result ? { responseModel: result.model, finishReason: result.finishReason, attempts: result.attempts, latencyMs: result.latencyMs } : {}),
    }),
  }];
  if (write) {
    spans.push({
      clientId: `${clientId}/memory/save`,
      executionClientId: clientId,
      kind: 'memory_access',
      traceId,
      spanId: newSpanId(),
      parentSpanId: spanId,
      name: 'memory_extract_save',
      stepNumber: 1,
      input: storableJson(end.ok ? end.memories : null),
      output: end.ok ? storableJson({ saved: end.saved.rows.map((r) => r.id), superseded: end.saved.superseded }) : undefined,
      status: end.ok ? 'ok' : 'error',
      errorMessage: end.ok ? undefined : storableText(end.message, 10_000),
      startedAt: write.startedAt.toISOString(),
      endedAt: write.endedAt.toISOString(),
      attributes: storableObject({
        operation: 'save',
        hits: end.ok ? end.saved.rows.map((r) => ({ id: r.id, score: null })) : [],
        superseded: end.ok ? end.saved.superseded : [],
        dedupeThreshold: settings.dedupeThreshold,
        latencyMs: write.latencyMs,
      }),
    });
  }
  const r = await ingest(deps, systemActor(orgId), { executions: [execution], spans });
  const extractionExecutionId = r.results.find((x) => x.kind === 'execution')?.id;
  if (!end.ok) {
    const message = `${end.message} (extraction execution ${extractionExecutionId})`;
    throw end.retry ? new Error(message) : new PermanentJobError(message);
  }
  return {
    executionId,
    ...(extractionExecutionId ? { extractionExecutionId } : {}),
    saved: end.saved.rows.map((x) => x.id),
    superseded: end.saved.superseded,
  };
}
