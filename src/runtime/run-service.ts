/**
 * Starting, running and finishing agent runs. A run is an `executions` row
 * created (with the quota check, the session and, for queued runs, the job)
 * in one transaction, then driven by the agent loop, then given its outcome;
 * the session, if any, gets the turns and counters afterwards, and the
 * memory extraction is queued when the agent's memory config asks for it.
 *
 * - runNow:      sync and streamed runs, in the request.
 * - enqueueRun:  async runs: a queued execution and its agent.run job, committed together.
 * - runQueued:   the agent.run job (run-queued.ts, agent-run-job.ts).
 * - callAgent:   a child run started by the call_agent built-in.
 */
import type { Actor } from '../audit/index.js';
import { uuidv7 } from '../db/index.js';
import { AppError, validationFailed } from '../errors.js';
import { findPlanRefs } from '../plans/index.js';
import { enqueueIn } from '../jobs/index.js';
import type { ExecutionItemInput } from '../runs/index.js';
import { stoppedOutcome, runLoop, type RunToolContext } from './agent-loop.js';
import { clock, type RuntimeDeps } from './deps.js';
import { zeroUsage } from './providers/types.js';
import { queueMemoryExtraction } from './memory-extract-job.js';
import { assertWithinQuotas } from './quotas.js';
import type { RunFrame } from './run-frame.js';
import { prepareRun, resolveLimits, type PreparedRun } from './run-prepare.js';
import {
  ingest,
  newSpanId,
  newTraceId,
  readExecution,
  recordMessageOutcome,
  recordMessageSent,
  recordOutcomeOrFail,
} from './run-recorder.js';
import { storableJson, storableText } from './storable.js';
import { RUN_ERRORS, RunBudget, type RunEvent, type RunInput, type RunLabels, type RunLimits, type RunMode, type RunOutcome } from './run-types.js';
import { attachRunSession, recordSessionRun, type SessionRef } from './sessions-service.js';
import type { HistoryEntry } from '../sessions/index.js';
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
  labels?: RunLabels | undefined;
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
  /** what was left of the organization's monthly cost budget when the run was recorded */
  costLeftUsd?: number;
}

interface CreateOptions {
  status: 'running' | 'queued';
  mode: RunMode;
  userId: string | null;
  requestId?: string | undefined;
  parent?: { frame: RunFrame; spanId: string } | undefined;
  /** a top-level run's; a child's are its parent's plan and tags (see RunLabels) */
  labels?: RunLabels | undefined;
}

/** What the execution records of the labels: a child run inherits the plan and the tags, not the metadata. */
function labelsOf(o: { parent?: RunFrame | undefined; labels?: RunLabels | undefined }): RunLabels {
  if (o.parent) return { planId: o.parent.planId, tags: o.parent.tags };
  return o.labels ?? {};
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
  const labels = labelsOf({ parent, labels: o.labels });
  const item: ExecutionItemInput = {
    clientId,
    agentId: p.agent.id,
    agentVersionId: p.version.id,
    ...(o.userId ? { userId: o.userId } : {}),
    ...(p.session ? { sessionId: p.session.id } : parent?.sessionId ? { sessionId: parent.sessionId } : {}),
    ...(parent ? { parentExecutionId: parent.executionId, parentSpanId: o.parent!.spanId } : {}),
    modelProvider: p.provider.label,
    modelName: p.version.model,
    // A child run's input is what the calling model wrote: made storable like its other data.
    input: storableJson({ input: p.input }),
    status: o.status,
    ...(o.status === 'running' ? { startedAt: now.toISOString() } : {}),
    createdAt: now.toISOString(),
    traceId,
    spanId,
    ...(o.requestId ? { requestId: o.requestId.slice(0, 100) } : {}),
    ...(labels.planId ? { planId: labels.planId } : {}),
    ...(labels.tags?.length ? { tags: labels.tags } : {}),
    // The caller's keys beside the runtime's own (the route keeps `runtime` for it and leaves it room).
    metadata: { ...labels.metadata, runtime: { mode: o.mode, limits: p.limits, depth, version: p.version.version } },
  };
  let jobId: string | undefined;
  let room: { costLeftUsd?: number } = {};
  const r = await ingest(deps, actor, { executions: [item] }, {
    createOnly: new Set([clientId]),
    within: async (sql, res) => {
      room = await assertWithinQuotas(sql, p.orgId, now);
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
  return {
    executionId: r.results[0]!.id!, clientId, createdAt: now, traceId, spanId,
    ...(jobId ? { jobId } : {}),
    ...(room.costLeftUsd !== undefined ? { costLeftUsd: room.costLeftUsd } : {}),
  };
}

/**
 * The tree's budget: the limits, with maxCostUsd lowered to what is left of
 * the organization's monthly cost budget when that is less (quotas.ts).
 */
export function treeBudget(limits: RunLimits, costLeft: number | undefined, startedAt: number): RunBudget {
  if (costLeft === undefined || (limits.maxCostUsd !== undefined && limits.maxCostUsd <= costLeft)) return new RunBudget(limits, startedAt);
  const budget = new RunBudget({ ...limits, maxCostUsd: Math.max(0, costLeft) }, startedAt);
  budget.costFromOrgBudget = true;
  return budget;
}

export function frameFor(
  p: PreparedRun,
  c: Created,
  f: {
    actor: Actor;
    userId: string | null;
    budget: RunBudget;
    parent?: RunFrame;
    labels?: RunLabels;
    startedAt: Date;
    emit?: (e: RunEvent) => void | Promise<void>;
  },
): RunFrame {
  const labels = labelsOf(f);
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
    memory: p.memory,
    sessionId: p.session?.id ?? f.parent?.sessionId,
    planId: labels.planId,
    tags: labels.tags ?? [],
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
export async function execute(deps: RuntimeDeps, frame: RunFrame): Promise<RunResult> {
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
  // Never before the start: a pinned service clock (tests) may put the start ahead of the wall clock.
  const status = await recordOutcomeOrFail(deps, frame, outcome, new Date(Math.max(Date.now(), frame.startedAt.getTime())));
  const stored = await readExecution(deps, frame.orgId, frame.executionId);
  if (stored) {
    frame.budget.costUsd += stored.costUsd - frame.costSeen;
    frame.costSeen = stored.costUsd;
  }
  if (frame.depth === 0 && frame.sessionId) await recordSession(deps, frame, outcome, status);
  await queueMemoryExtraction(deps, frame, status);
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
      ? [...said, { role: 'assistant' as const, content: storableText(outcome.output) }].map((t) => ({ ...t, executionId: frame.executionId, at }))
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

/** A run naming a plan names a live plan of the organization (another organization's reads as missing). */
async function assertPlan(deps: RuntimeDeps, orgId: string, planId: string | undefined): Promise<void> {
  if (!planId) return;
  const found = await deps.db.tenant(orgId, (sql) => findPlanRefs(sql, [planId]));
  if (!found.has(planId.toLowerCase())) {
    throw validationFailed(`planId: no plan ${planId} in this organization`, [{ path: 'body.planId', message: 'names no plan of this organization' }]);
  }
}

/** A sync or streamed run: recorded as running and driven to its end in the caller's request. */
export async function runNow(
  deps: RuntimeDeps,
  actor: Actor,
  req: RunRequest,
  opts: { emit?: (e: RunEvent) => void | Promise<void>; onCreated?: (executionId: string, agentId: string) => void } = {},
): Promise<RunResult> {
  const now = clock(deps);
  const limits = resolveLimits(deps, req.limits);
  await assertPlan(deps, actor.orgId, req.labels?.planId);
  const p = await prepareRun(deps, actor.orgId, { agentId: req.agentId, version: req.version, input: req.input, session: req.session, limits }, now);
  const created = await createExecution(deps, actor, p, {
    status: 'running', mode: req.mode, userId: actor.userId, requestId: req.requestId, labels: req.labels,
  }, now);
  // With the agent's id: the request may have named it by slug.
  opts.onCreated?.(created.executionId, p.agent.id);
  const budget = treeBudget(limits, created.costLeftUsd, now.getTime());
  try {
    return await execute(deps, frameFor(p, created, { actor, userId: actor.userId, budget, labels: req.labels, startedAt: now, emit: opts.emit }));
  } finally {
    budget.close();
  }
}

/** An async run: checked like any other, recorded as queued with its job; the worker runs it. */
export async function enqueueRun(deps: RuntimeDeps, actor: Actor, req: RunRequest): Promise<{ executionId: string; jobId: string }> {
  const now = clock(deps);
  const limits = resolveLimits(deps, req.limits);
  await assertPlan(deps, actor.orgId, req.labels?.planId);
  const p = await prepareRun(deps, actor.orgId, { agentId: req.agentId, version: req.version, input: req.input, session: req.session, limits }, now);
  const c = await createExecution(deps, actor, p, {
    status: 'queued', mode: 'async', userId: actor.userId, requestId: req.requestId, labels: req.labels,
  }, now);
  return { executionId: c.executionId, jobId: c.jobId! };
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
