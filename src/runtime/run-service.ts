/**
 * Starting, running and finishing agent runs. A run is an `executions` row
 * created (with the quota check, the session and, for queued runs, the job)
 * in one transaction, then driven by the agent loop, then given its outcome;
 * the session, if any, gets the turns and counters afterwards.
 *
 * - runNow:      sync and streamed runs, in the request.
 * - enqueueRun:  async runs: a queued execution and its agent.run job, committed together.
 * - runQueued:   the agent.run job (agent-run-job.ts).
 * - callAgent:   a child run started by the call_agent built-in.
 */
import type { Actor } from '../audit/index.js';
import { getAgent, getAgentVersion } from '../agents/index.js';
import { uuidv7 } from '../db/index.js';
import { AppError, conflict, notFound } from '../errors.js';
import { enqueueIn } from '../jobs/index.js';
import type { ExecutionItemInput } from '../runs/index.js';
import { stoppedOutcome, runLoop, type RunToolContext } from './agent-loop.js';
import { clock, type RuntimeDeps } from './deps.js';
import { zeroUsage } from './providers/types.js';
import { assertWithinQuotas } from './quotas.js';
import type { RunFrame } from './run-frame.js';
import { assertRunnable, prepareRun, prepareVersion, resolveLimits, type PreparedRun } from './run-prepare.js';
import {
  ingest,
  newSpanId,
  newTraceId,
  readExecution,
  recordMessageOutcome,
  recordMessageSent,
  recordOutcome,
  recordStarted,
  systemActor,
} from './run-recorder.js';
import { RUN_ERRORS, RunBudget, RunStop, type RunEvent, type RunInput, type RunLimits, type RunMode, type RunOutcome } from './run-types.js';
import { attachRunSession, recordSessionRun, type SessionRef } from './sessions-service.js';
import type { HistoryEntry } from './sessions-repo.js';
import type { ToolOutcome } from './tools/types.js';

export const AGENT_RUN_TASK = 'agent.run';
export const AGENT_RUN_QUEUE = 'agent-runs';

export interface RunRequest {
  agentId: string;
  /** semver or version id; the agent's current version when absent */
  version?: string | undefined;
  input: RunInput;
  session?: SessionRef | undefined;
  limits?: Partial<RunLimits> | undefined;
  mode: RunMode;
  requestId?: string | undefined;
}

export interface RunResult {
  executionId: string;
  outcome: RunOutcome;
  /** the stored status (a cancel through the API wins over what the loop concluded) */
  status: string;
}

interface Created {
  executionId: string;
  clientId: string;
  createdAt: Date;
  traceId: string;
  spanId: string;
  jobId?: string;
}

interface CreateOptions {
  status: 'running' | 'queued';
  mode: RunMode;
  userId: string | null;
  requestId?: string | undefined;
  parent?: { frame: RunFrame; spanId: string } | undefined;
}

/**
 * One transaction: the execution, then (before commit) the quotas counted with
 * it, the session made or checked, and the job of a queued run. Any refusal
 * rolls all of it back.
 */
async function createExecution(deps: RuntimeDeps, actor: Actor, p: PreparedRun, o: CreateOptions, now: Date): Promise<Created> {
  const clientId = `run:${uuidv7()}`;
  const parent = o.parent?.frame;
  const traceId = parent?.traceId ?? newTraceId();
  const spanId = newSpanId();
  const depth = parent ? parent.depth + 1 : 0;
  const item: ExecutionItemInput = {
    clientId,
    agentId: p.agent.id,
    agentVersionId: p.version.id,
    ...(o.userId ? { userId: o.userId } : {}),
    ...(p.session ? { sessionId: p.session.id } : parent?.sessionId ? { sessionId: parent.sessionId } : {}),
    ...(parent ? { parentExecutionId: parent.executionId, parentSpanId: o.parent!.spanId } : {}),
    modelProvider: p.provider.label,
    modelName: p.version.model,
    input: { input: p.input },
    status: o.status,
    ...(o.status === 'running' ? { startedAt: now.toISOString() } : {}),
    createdAt: now.toISOString(),
    traceId,
    spanId,
    ...(o.requestId ? { requestId: o.requestId.slice(0, 100) } : {}),
    metadata: { runtime: { mode: o.mode, limits: p.limits, depth, version: p.version.version } },
  };
  let jobId: string | undefined;
  const r = await ingest(deps, actor, { executions: [item] }, {
    createOnly: new Set([clientId]),
    within: async (sql, res) => {
      await assertWithinQuotas(sql, p.orgId, now);
      if (p.session) await attachRunSession(sql, p.orgId, p.session, { agentId: p.agent.id, userId: o.userId }, now);
      if (o.status === 'queued') {
        const executionId = res.results.find((x) => x.kind === 'execution')!.id!;
        const { job } = await enqueueIn(sql, {
          queue: AGENT_RUN_QUEUE,
          task: AGENT_RUN_TASK,
          payload: { executionId },
          // A claim that dies before the run starts is retried; one that dies mid-run finds it running and marks it interrupted.
          maxAttempts: 3,
          idempotencyKey: executionId,
        });
        jobId = job.id;
      }
    },
  });
  return { executionId: r.results[0]!.id!, clientId, createdAt: now, traceId, spanId, ...(jobId ? { jobId } : {}) };
}

function frameFor(
  p: PreparedRun,
  c: Created,
  f: { actor: Actor; userId: string | null; budget: RunBudget; parent?: RunFrame; startedAt: Date; emit?: (e: RunEvent) => void },
): RunFrame {
  const controller = new AbortController();
  const outer = f.parent ? f.parent.signal : f.budget.deadlineSignal;
  return {
    orgId: p.orgId,
    actor: f.actor,
    userId: f.userId,
    executionId: c.executionId,
    clientId: c.clientId,
    agent: { id: p.agent.id, slug: p.agent.slug },
    version: p.version,
    modelSettings: p.modelSettings,
    provider: p.provider,
    priceProvider: p.priceProvider,
    tools: p.tools,
    sessionId: p.session?.id ?? f.parent?.sessionId,
    history: f.parent ? [] : (p.session?.history ?? []),
    input: p.input,
    depth: f.parent ? f.parent.depth + 1 : 0,
    callPath: [...(f.parent?.callPath ?? []), p.agent.id],
    traceId: c.traceId,
    spanId: c.spanId,
    budget: f.budget,
    controller,
    signal: AbortSignal.any([controller.signal, outer]),
    startedAt: f.startedAt,
    emit: f.emit,
    usage: zeroUsage(),
    toolCalls: [],
    costSeen: 0,
  };
}

/** Runs the loop and records the outcome; a failure of the runtime itself is recorded as internal. */
async function execute(deps: RuntimeDeps, frame: RunFrame): Promise<RunResult> {
  deps.running.add(frame.executionId, frame.controller);
  let outcome: RunOutcome;
  try {
    outcome = await runLoop(deps, frame);
  } catch (err) {
    deps.log?.error({ err, executionId: frame.executionId }, 'agent run failed inside the runtime');
    outcome = stoppedOutcome(frame) ?? {
      status: 'failed',
      errorCode: RUN_ERRORS.internal,
      errorMessage: 'the run failed inside the service; the execution id identifies it in the server log',
    };
  } finally {
    deps.running.delete(frame.executionId);
  }
  const status = await recordOutcome(deps, frame, outcome, new Date());
  const stored = await readExecution(deps, frame.orgId, frame.executionId);
  if (stored) {
    frame.budget.costUsd += stored.costUsd - frame.costSeen;
    frame.costSeen = stored.costUsd;
  }
  if (frame.depth === 0 && frame.sessionId) await recordSession(deps, frame, outcome, status);
  return { executionId: frame.executionId, outcome, status };
}

/** The session gets the run's turns when it completed, and its counters (the whole tree's tokens and cost) always. */
async function recordSession(deps: RuntimeDeps, frame: RunFrame, outcome: RunOutcome, status: string): Promise<void> {
  const at = new Date().toISOString();
  const said: HistoryEntry[] =
    typeof frame.input === 'string'
      ? [{ role: 'user', content: frame.input }]
      : frame.input.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content }));
  const turns: HistoryEntry[] =
    outcome.status === 'completed' && status === 'completed'
      ? [...said, { role: 'assistant' as const, content: outcome.output }].map((t) => ({ ...t, executionId: frame.executionId, at }))
      : [];
  try {
    await recordSessionRun(deps, frame.orgId, frame.sessionId!, {
      turns,
      tokens: frame.budget.tokens,
      costUsd: frame.budget.costUsd,
      actions: frame.toolCalls.length,
    });
  } catch (err) {
    // The run is recorded; a session that cannot be updated (deleted meanwhile) does not undo it.
    deps.log?.warn({ err, executionId: frame.executionId, sessionId: frame.sessionId }, 'could not record the run on its session');
  }
}

/** A sync or streamed run: recorded as running and driven to its end in the caller's request. */
export async function runNow(
  deps: RuntimeDeps,
  actor: Actor,
  req: RunRequest,
  opts: { emit?: (e: RunEvent) => void; onCreated?: (executionId: string) => void } = {},
): Promise<RunResult> {
  const now = clock(deps);
  const limits = resolveLimits(deps, req.limits);
  const p = await prepareRun(deps, actor.orgId, { agentId: req.agentId, version: req.version, input: req.input, session: req.session, limits }, now);
  const created = await createExecution(deps, actor, p, { status: 'running', mode: req.mode, userId: actor.userId, requestId: req.requestId }, now);
  opts.onCreated?.(created.executionId);
  const budget = new RunBudget(limits, now.getTime());
  try {
    return await execute(deps, frameFor(p, created, { actor, userId: actor.userId, budget, startedAt: now, emit: opts.emit }));
  } finally {
    budget.close();
  }
}

/** An async run: checked like any other, recorded as queued with its job; the worker runs it. */
export async function enqueueRun(deps: RuntimeDeps, actor: Actor, req: RunRequest): Promise<{ executionId: string; jobId: string }> {
  const now = clock(deps);
  const limits = resolveLimits(deps, req.limits);
  const p = await prepareRun(deps, actor.orgId, { agentId: req.agentId, version: req.version, input: req.input, session: req.session, limits }, now);
  const c = await createExecution(deps, actor, p, { status: 'queued', mode: 'async', userId: actor.userId, requestId: req.requestId }, now);
  return { executionId: c.executionId, jobId: c.jobId! };
}

interface StoredRun {
  input: RunInput;
  limits: RunLimits;
}

/** A queued execution's job. A run found already running was started by an attempt that died: it is not run twice. */
export async function runQueued(deps: RuntimeDeps, orgId: string, executionId: string, signal?: AbortSignal): Promise<{ status: string }> {
  const row = await readExecution(deps, orgId, executionId);
  if (!row) throw notFound('execution', executionId);
  const actor = systemActor(orgId);
  const bare = { executionId, clientId: row.clientId!, createdAt: row.createdAt, traceId: row.traceId ?? newTraceId(), spanId: row.spanId ?? newSpanId() };
  if (row.status !== 'queued' && row.status !== 'running') return { status: row.status };
  if (row.status === 'running') {
    await ingest(deps, actor, {
      executions: [{
        clientId: bare.clientId, status: 'failed', completedAt: new Date().toISOString(), errorCode: RUN_ERRORS.interrupted,
        errorMessage: 'the worker running this execution stopped before it finished; it is not run twice (its tools may have acted): start a new execution',
      }],
    });
    return { status: 'failed' };
  }
  const stored = ((row.input ?? {}) as { input?: RunInput }).input;
  const runtime = (row.metadata.runtime ?? {}) as Partial<StoredRun>;
  const now = clock(deps);
  let p: PreparedRun;
  try {
    if (stored === undefined || !row.agentId || !row.agentVersionId) throw conflict('the execution was not queued by the runtime (no input, agent or version)');
    const agentsDeps = { db: deps.db };
    const agent = await getAgent(agentsDeps, orgId, row.agentId);
    assertRunnable(agent);
    const version = await getAgentVersion(agentsDeps, orgId, agent.id, row.agentVersionId);
    // A session that ended or expired while the run waited fails it, as it would have refused the request.
    const session = row.sessionId ? { id: row.sessionId } : undefined;
    p = await prepareVersion(deps, orgId, agent, version, { input: stored, session, limits: runtime.limits ?? resolveLimits(deps) }, now);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // The agent changed since it was queued (deleted, misconfigured): the run cannot start, and retrying will not help.
    await ingest(deps, actor, {
      executions: [{ clientId: bare.clientId, status: 'failed', completedAt: new Date().toISOString(), errorCode: err.code, errorMessage: err.message }],
    });
    return { status: 'failed' };
  }
  const budget = new RunBudget(p.limits, now.getTime());
  const frame = frameFor(p, bare, { actor, userId: row.userId, budget, startedAt: now });
  const onAbort = () => frame.controller.abort(new RunStop('interrupted', 'the worker running this execution stopped before it finished: start a new execution'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (!(await recordStarted(deps, frame, row.createdAt))) return { status: (await readExecution(deps, orgId, executionId))?.status ?? 'unknown' };
    return { status: (await execute(deps, frame)).status };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    budget.close();
  }
}

/**
 * A child run for call_agent: a message sent to the other agent, its
 * execution (parent_execution_id set) driven to its end inside the parent's
 * tool call, and the message marked processed or failed with the answer.
 * Whatever goes wrong is an outcome the calling model sees, not a failure of
 * the parent run.
 */
export async function callAgent(deps: RuntimeDeps, ctx: RunToolContext, target: { id: string; slug: string }, input: string): Promise<ToolOutcome> {
  const parent = ctx.frame;
  const message = { clientId: `${parent.clientId}/msg/${ctx.step}/${ctx.index}`, from: parent.agent, to: target, input, sentAt: new Date() };
  await recordMessageSent(deps, parent, message);
  const refuse = async (error: string, response: Record<string, unknown> = {}) => {
    await recordMessageOutcome(deps, parent, message, { ok: false, response, error, at: new Date() });
    return { isError: true, output: { error, agent: target.slug, ...response }, details: { agent: target.slug, ...response } };
  };

  const now = new Date();
  let p: PreparedRun;
  let created: Created;
  try {
    p = await prepareRun(deps, parent.orgId, { agentId: target.id, input, limits: parent.budget.limits }, now);
    created = await createExecution(deps, parent.actor, p, {
      status: 'running', mode: 'sync', userId: parent.userId, parent: { frame: parent, spanId: ctx.spanId },
    }, now);
  } catch (err) {
    if (err instanceof AppError) return refuse(`the agent ${target.slug} could not be called: ${err.message}`);
    throw err;
  }
  const frame = frameFor(p, created, { actor: parent.actor, userId: parent.userId, budget: parent.budget, parent, startedAt: now });
  const r = await execute(deps, frame);
  const response = { executionId: r.executionId, status: r.status };
  if (r.outcome.status === 'completed' && r.status === 'completed') {
    await recordMessageOutcome(deps, parent, message, { ok: true, response: { ...response, output: r.outcome.output }, at: new Date() });
    return { isError: false, output: { agent: target.slug, answer: r.outcome.output }, details: { childExecutionId: r.executionId, agent: target.slug, status: r.status } };
  }
  const why = r.outcome.status === 'completed' ? `it was ${r.status}` : r.outcome.errorMessage;
  const out = await refuse(`the agent ${target.slug} did not answer (${r.status}): ${why}`, response);
  return { ...out, details: { ...out.details, childExecutionId: r.executionId } };
}
