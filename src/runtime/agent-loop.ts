/**
 * The agent loop: model call → tool calls → model call … until the model
 * answers without asking for a tool, or a limit stops it. Between steps it
 * checks the execution's stored status (a cancel from any process) and the
 * tree's deadline, tokens and cost; within a step, the run's signal aborts
 * the model call or tool call in flight (a cancel in this process, or the
 * deadline). Every call is recorded as it completes (run-recorder.ts).
 */
import { RUN_ERRORS, RunStop, type RunEvent, type RunOutcome } from './run-types.js';
import type { RuntimeDeps } from './deps.js';
import { ProviderError, type ChatMessage, type ChatResult, type FunctionTool, type ToolCall } from './providers/index.js';
import type { RunFrame } from './run-frame.js';
import { newSpanId, readExecution, recordLlmCall, recordToolCalls, type ToolSpan } from './run-recorder.js';
import { recallForRun } from './memory-recall.js';
import { sendsHistory } from './run-memory.js';
import { historyMessages } from './sessions-service.js';
import type { ToolContext, ToolOutcome } from './tools/types.js';

/** What a built-in running inside a run can reach beyond the shared ToolContext (call_agent starts child runs). */
export interface RunToolContext extends ToolContext {
  frame: RunFrame;
  /** the span this call will be recorded as: a child execution names it as its parent span */
  spanId: string;
  step: number;
  index: number;
}

export const isRunToolContext = (ctx: ToolContext): ctx is RunToolContext => 'frame' in ctx && 'spanId' in ctx;

/**
 * The prompt of the first model call: the version's system prompt, then what
 * the run's memory type injects (run-memory.ts): the session's recent turns
 * (conversation, hybrid, or no memory) and the recalled memories (long_term,
 * hybrid), then the input.
 */
function initialMessages(frame: RunFrame, recalled: ChatMessage | undefined): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (frame.version.systemPrompt.trim()) out.push({ role: 'system', content: frame.version.systemPrompt });
  if (recalled) out.push(recalled);
  if (sendsHistory(frame.memory)) out.push(...historyMessages(frame.history));
  if (typeof frame.input === 'string') out.push({ role: 'user', content: frame.input });
  else out.push(...frame.input.map((m) => ({ role: m.role, content: m.content }) as ChatMessage));
  return out;
}

const failed = (errorCode: string, errorMessage: string): RunOutcome => ({ status: 'failed', errorCode, errorMessage });

/** The outcome of an aborted signal: this run's cancel, a caller's cancel, or the deadline. */
export function stoppedOutcome(frame: RunFrame): RunOutcome | undefined {
  if (!frame.signal.aborted) return undefined;
  const own = frame.controller.signal.aborted ? frame.controller.signal.reason : undefined;
  const reason: unknown = own ?? (frame.budget.deadlineSignal.aborted ? frame.budget.deadlineSignal.reason : frame.signal.reason);
  if (reason instanceof RunStop) return reason.outcome();
  return { status: 'cancelled', errorCode: RUN_ERRORS.cancelled, errorMessage: 'the run was stopped' };
}

/** Between steps: cancelled elsewhere, out of time, out of tokens or money? */
async function checkBeforeStep(deps: RuntimeDeps, frame: RunFrame, step: number): Promise<RunOutcome | undefined> {
  const stopped = stoppedOutcome(frame);
  if (stopped) return stopped;
  if (step > 1) {
    const row = await readExecution(deps, frame.orgId, frame.executionId);
    if (row?.status === 'cancelled') return { status: 'cancelled', errorCode: RUN_ERRORS.cancelled, errorMessage: row.errorMessage ?? 'cancelled' };
    if (row) {
      frame.budget.costUsd += row.costUsd - frame.costSeen;
      frame.costSeen = row.costUsd;
    }
  }
  const { limits } = frame.budget;
  if (Date.now() >= frame.budget.deadline) {
    return { status: 'timeout', errorCode: RUN_ERRORS.timeout, errorMessage: `the run did not finish within its time limit of ${limits.timeoutMs} ms (limits.timeoutMs)` };
  }
  if (limits.maxTokens !== undefined && frame.budget.tokens >= limits.maxTokens) {
    return failed(RUN_ERRORS.maxTokens, `the run used ${frame.budget.tokens} tokens, reaching its limit of ${limits.maxTokens} (limits.maxTokens) before it had an answer`);
  }
  if (limits.maxCostUsd !== undefined && frame.budget.costUsd >= limits.maxCostUsd) {
    const limit = frame.budget.costFromOrgBudget
      ? `what was left of the organization's monthly cost budget when it started, $${round(limits.maxCostUsd)} (monthlyCostBudgetUsd, PATCH /v1/org)`
      : `its limit of $${limits.maxCostUsd} (limits.maxCostUsd)`;
    return failed(RUN_ERRORS.maxCost, `the run cost $${round(frame.budget.costUsd)}, reaching ${limit} before it had an answer`);
  }
  return undefined;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * The completion tokens a model call may use: the version's maxTokens, and
 * no more than the tree has left of limits.maxTokens (prompt and completion
 * tokens count against it, so this is an upper bound).
 */
export function callMaxTokens(frame: RunFrame): number | undefined {
  const own = typeof frame.version.maxTokens === 'number' && frame.version.maxTokens > 0 ? frame.version.maxTokens : undefined;
  const { maxTokens } = frame.budget.limits;
  if (maxTokens === undefined) return own;
  const left = Math.max(1, maxTokens - frame.budget.tokens);
  return own === undefined ? left : Math.min(own, left);
}

/** How much of a tool's output or arguments a streamed event carries; the span records all of it. */
export const EVENT_PAYLOAD_CHARS = 16 * 1024;

/** A value as an event shows it: itself when small, else the start of its JSON text. */
export function eventPayload(v: unknown): unknown {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null');
  if (text.length <= EVENT_PAYLOAD_CHARS) return v;
  return { truncated: true, chars: text.length, preview: text.slice(0, EVENT_PAYLOAD_CHARS) };
}

/**
 * Sends an event and waits while the client is behind (event-stream.ts), but
 * never past the run's own stop: a client that stops reading cannot hold a
 * run beyond its deadline or a cancel.
 */
async function emit(frame: RunFrame, e: RunEvent): Promise<void> {
  const pending = frame.emit?.(e);
  if (!(pending instanceof Promise) || frame.signal.aborted) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      frame.signal.removeEventListener('abort', done);
      resolve();
    };
    frame.signal.addEventListener('abort', done, { once: true });
    pending.then(done, done);
  });
}

export async function runLoop(deps: RuntimeDeps, frame: RunFrame): Promise<RunOutcome> {
  const messages = initialMessages(frame, await recallForRun(deps, frame));
  const offered: FunctionTool[] = frame.tools.map((t) => ({ name: t.spec.name, description: t.spec.description, parameters: t.spec.parameters }));
  let sent = 0;
  for (let step = 1; ; step++) {
    const stop = await checkBeforeStep(deps, frame, step);
    if (stop) return stop;
    await emit(frame, { type: 'step', executionId: frame.executionId, step });

    const startedAt = new Date();
    const input = messages.slice(sent);
    sent = messages.length;
    let result: ChatResult;
    try {
      result = await frame.provider.provider.complete(
        {
          messages,
          ...(offered.length ? { tools: offered } : {}),
          temperature: frame.version.temperature,
          maxTokens: callMaxTokens(frame),
          stream: frame.emit !== undefined,
        },
        {
          signal: frame.signal,
          // Deltas arrive inside the model call and are not waited for; the next event waits for them to drain.
          onDelta: frame.emit
            ? (d) => {
                if (d.type === 'content') void frame.emit!({ type: 'delta', executionId: frame.executionId, step, text: d.text });
              }
            : undefined,
        },
      );
    } catch (err) {
      const stopped = stoppedOutcome(frame);
      const message = stopped && stopped.status !== 'completed' ? stopped.errorMessage : err instanceof Error ? err.message : String(err);
      await recordLlmCall(deps, frame, { step, startedAt, endedAt: new Date(), input, error: message });
      if (stopped) return stopped;
      if (err instanceof ProviderError) {
        return {
          status: 'failed',
          errorCode: RUN_ERRORS.provider,
          errorMessage: `the model call failed: ${err.message}`,
          provider: { kind: err.kind, status: err.status, attempts: err.attempts },
        };
      }
      throw err;
    }
    await recordLlmCall(deps, frame, { step, startedAt, endedAt: new Date(), input, result });
    addUsage(frame, result);

    if (result.toolCalls.length === 0) return { status: 'completed', output: result.content ?? '' };
    messages.push({ role: 'assistant', content: result.content, toolCalls: result.toolCalls });
    if (step >= frame.budget.limits.maxSteps) {
      return failed(
        RUN_ERRORS.maxSteps,
        `the model still asked for tools after ${step} model calls, the most this run allows (limits.maxSteps ${frame.budget.limits.maxSteps}); raise limits.maxSteps (up to AGENTBASE_RUN_MAX_STEPS) or simplify the task`,
      );
    }

    const spans: ToolSpan[] = [];
    for (const [index, call] of result.toolCalls.entries()) {
      if (frame.signal.aborted) break;
      const { span, content } = await runTool(deps, frame, step, index, call);
      spans.push(span);
      messages.push({ role: 'tool', toolCallId: call.id, content });
    }
    await recordToolCalls(deps, frame, spans);
    const stopped = stoppedOutcome(frame);
    if (stopped) return stopped;
  }
}

function addUsage(frame: RunFrame, r: ChatResult): void {
  const u = frame.usage;
  u.promptTokens += r.usage.promptTokens;
  u.completionTokens += r.usage.completionTokens;
  u.cachedTokens += r.usage.cachedTokens;
  u.reasoningTokens += r.usage.reasoningTokens;
  const total = r.usage.promptTokens + r.usage.completionTokens;
  u.totalTokens += total;
  frame.budget.tokens += total;
}

const toolError = (error: string): ToolOutcome => ({ output: { error }, isError: true });

/** What the model is shown: text as is, anything else as JSON; errors as {"error": …}. */
function modelText(o: ToolOutcome): string {
  if (typeof o.output === 'string' && !o.isError) return o.output;
  return JSON.stringify(o.output ?? null);
}

async function runTool(deps: RuntimeDeps, frame: RunFrame, step: number, index: number, call: ToolCall): Promise<{ span: ToolSpan; content: string }> {
  const startedAt = new Date();
  const t0 = performance.now();
  const spanId = newSpanId();
  await emit(frame, { type: 'tool_call', executionId: frame.executionId, step, id: call.id, name: call.name, arguments: eventPayload(call.arguments) as Record<string, unknown> });
  const tool = frame.tools.find((t) => t.spec.name === call.name);
  let outcome: ToolOutcome;
  if (!tool) {
    const names = frame.tools.map((t) => t.spec.name);
    outcome = toolError(`there is no tool named ${call.name}; the tools are: ${names.join(', ') || 'none'}`);
  } else if (call.invalidArguments) {
    outcome = toolError(`the arguments of ${call.name} could not be read: ${call.invalidArguments}; send them as a JSON object`);
  } else {
    const ctx: RunToolContext = {
      orgId: frame.orgId,
      agentId: frame.agent.id,
      executionId: frame.executionId,
      sessionId: frame.sessionId,
      depth: frame.depth,
      callPath: frame.callPath,
      signal: frame.signal,
      tenant: (fn) => deps.db.tenant(frame.orgId, fn),
      frame,
      spanId,
      step,
      index,
    };
    try {
      outcome = await tool.run(call.arguments, ctx);
    } catch (err) {
      // The run's own abort ends the run (the loop looks at the signal); anything else is the tool's failure.
      outcome = frame.signal.aborted
        ? toolError(`the run stopped during this call: ${(stoppedOutcome(frame) as { errorMessage?: string } | undefined)?.errorMessage ?? 'aborted'}`)
        : toolError(`the tool ${call.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const durationMs = Math.round(performance.now() - t0);
  await emit(frame, { type: 'tool_result', executionId: frame.executionId, step, id: call.id, name: call.name, output: eventPayload(outcome.output), isError: outcome.isError, durationMs });
  const childExecutionId = typeof outcome.details?.childExecutionId === 'string' ? outcome.details.childExecutionId : undefined;
  frame.toolCalls.push({ step, id: call.id, name: call.name, isError: outcome.isError, durationMs, ...(childExecutionId ? { childExecutionId } : {}) });
  return {
    content: modelText(outcome),
    span: {
      kind: tool?.spanKind ?? 'tool_call',
      step,
      index,
      spanId,
      name: call.name,
      args: call.invalidArguments ? { raw: call.rawArguments ?? '' } : call.arguments,
      output: outcome.output,
      isError: outcome.isError,
      details: outcome.details,
      startedAt,
      endedAt: new Date(),
    },
  };
}
