import { z } from 'zod';
import { findAgentRefs } from '../agents/index.js';
import { uuidv7, type Sql } from '../db/index.js';
import { Json } from '../http/json-schemas.js';
import { PermanentJobError, errorText, exponentialBackoff, type ClaimedJob, type JobContext, type JobHandler } from '../jobs/index.js';
import { notifyIn } from '../notifications/index.js';
import { MAX_FAN_OUT_ITEMS, type ApprovalStep, type FanInStep, type FanOutStep, type RunnerStep, type WaitStep } from './definition-schema.js';
import { clock, type WorkflowEngineDeps } from './deps.js';
import { evaluateMapping, mappingPaths } from './mapping.js';
import {
  STEP_TASK, TIMEOUT_TASK, advance, completeStep, enqueueSteps, enqueueTimeout, failRun, findStep, loadDefinition, refOf,
  type RunCtx,
} from './progress.js';
import { isUuid, membersWithRole } from './refs.js';
import * as runs from './runs-repo.js';
import type { RunRef } from './runs-repo.js';
import * as stepRuns from './step-runs-repo.js';
import * as workflows from './workflows-repo.js';

/**
 * The engine: one job per step attempt. A step job runs in three parts:
 *
 *  1. begin (one transaction, run row locked, then the step run): a step run
 *     that is already completed, failed, cancelled or waiting means this is a
 *     repeated delivery, and nothing happens. Otherwise the attempt is recorded
 *     (status running, attempts + 1, its input) before anything runs. Wait,
 *     approval, fan_out and fan_in steps do all their work here.
 *  2. the agent or tool call, outside any transaction (no connection held).
 *  3. finish (one transaction, same locks): if the attempt is still the
 *     current one, its output is stored as completed and the steps it makes
 *     ready are inserted and enqueued — or, on failure, a retry is enqueued or
 *     the run fails.
 *
 * A crash between 1 and 3 leaves the step run "running"; the job's lease
 * expires, the job is delivered again, and the step runs again (at least
 * once). A crash after 3 leaves the job unacknowledged; its next delivery
 * finds the step completed and does nothing, so no completed step runs twice.
 *
 * A job belongs to one attempt. Its payload names the attempt it was enqueued
 * for, and begin lets it proceed only while that is still the step's business:
 * a pending step only with the job of its next attempt (attempts + 1), a
 * running step only with the job that started it (job_id). Any other delivery
 * — an earlier attempt's job redelivered after the retry was enqueued, say —
 * is superseded and does nothing, so one step never runs two attempts at once.
 *
 * Two deliveries of one job at once (a lease expired while its worker still
 * ran) serialize on the run's row lock; the later one starts attempt n + 1,
 * and finish accepts only the attempt the step run records, so the earlier
 * attempt's result is discarded. Duplicate jobs for one attempt cannot exist:
 * the idempotency key names (run, step, attempt), and the step run's unique
 * key refuses a second row.
 *
 * A step job whose own attempts run out (begin or finish kept failing: the
 * database away, a definition gone) fails the run, so no run waits forever on
 * a dead job.
 */

// A step job delivered again while its attempt is still running was cut short
// (its worker died, lost the lease, or failed before recording): the step is
// started again, at most this many times per job, then failed as "never
// finishes". Counted by the job's attempt number, which a job given back at
// shutdown keeps: a graceful restart is not an interruption.
const INTERRUPTED_STARTS = 2;

const Payload = z.object({
  runId: z.uuid(),
  startedAt: z.iso.datetime({ offset: true }),
  stepKey: z.string().min(1).max(100),
  /** the step attempt the job was enqueued for; absent in jobs enqueued before it was recorded */
  attempt: z.number().int().min(1).optional(),
});

interface StepJob {
  ref: RunRef;
  key: string;
  attempt: number | undefined;
}

function payloadOf(job: ClaimedJob): StepJob {
  const p = Payload.safeParse(job.payload);
  if (!p.success) throw new PermanentJobError(`job ${job.id} has no valid workflow step payload: ${p.error.message}`);
  return { ref: { id: p.data.runId, startedAt: new Date(p.data.startedAt) }, key: p.data.stepKey, attempt: p.data.attempt };
}

/** The task handlers to give a Worker (task name → handler). */
export function workflowJobHandlers(deps: WorkflowEngineDeps): Record<string, JobHandler> {
  return {
    [STEP_TASK]: (job, ctx) => failRunWhenSpent(deps, job, ctx, runStepJob),
    [TIMEOUT_TASK]: (job, ctx) => failRunWhenSpent(deps, job, ctx, runTimeoutJob),
  };
}

type Plan =
  | { kind: 'done'; outcome: string }
  | { kind: 'call'; step: RunnerStep; attempt: number; input: unknown; agentId: string | null };

const done = (outcome: string): Plan => ({ kind: 'done', outcome });

type Result = { ok: true; output: unknown; executionId: string | null } | { ok: false; error: string; executionId: string | null };

type StepJobHandler = (deps: WorkflowEngineDeps, job: ClaimedJob, ctx: JobContext, sj: StepJob) => Promise<unknown>;

/**
 * Runs a step or timeout job. When it throws on the job's last attempt (and
 * not because the worker gave it up), the job is about to be dead-lettered
 * and nothing would move the run again: the run is failed first, in a
 * transaction of its own, then the error goes on to the worker.
 */
async function failRunWhenSpent(deps: WorkflowEngineDeps, job: ClaimedJob, ctx: JobContext, handler: StepJobHandler): Promise<unknown> {
  const sj = payloadOf(job);
  try {
    return await handler(deps, job, ctx, sj);
  } catch (err) {
    const last = job.attempts >= job.maxAttempts || err instanceof PermanentJobError;
    if (!last || ctx.signal.aborted) throw err;
    const why = `its job failed ${job.attempts} times, last with: ${errorText(err)}`;
    try {
      await deps.db.tenant(job.orgId, async (sql) => {
        const run = await runs.lockRun(sql, job.orgId, sj.ref);
        if (!run || runs.FINAL_RUN_STATUSES.has(run.status)) return;
        const def = (await workflows.runDefinition(sql, job.orgId, run.workflowId, run.workflowVersion))
          ?? { name: run.workflowId, steps: [], dependencies: {} };
        await failRun({ deps, sql, orgId: job.orgId, run, def }, sj.key, why);
      });
    } catch (again) {
      throw new Error(`${errorText(err)} (and the run could not be failed: ${errorText(again)})`, { cause: err });
    }
    throw err;
  }
}

async function runStepJob(deps: WorkflowEngineDeps, job: ClaimedJob, ctx: JobContext, { ref, key, attempt }: StepJob): Promise<unknown> {
  const plan = await deps.db.tenant(job.orgId, (sql) => begin(deps, sql, job, ref, key, attempt));
  if (plan.kind === 'done') return { step: key, outcome: plan.outcome };
  const result = await call(deps, job.orgId, ref, key, plan, ctx.signal);
  // The worker gave the job back or lost its lease: whoever runs it next records the outcome.
  if (ctx.signal.aborted) throw new Error(`step "${key}" attempt ${plan.attempt} was interrupted: ${errorText(ctx.signal.reason)}`);
  const outcome = await deps.db.tenant(job.orgId, (sql) => finish(deps, sql, job.orgId, ref, key, plan, result));
  return { step: key, attempt: plan.attempt, outcome };
}

async function context(c: RunCtx, mappings: unknown[]): Promise<{ input: unknown; steps: Record<string, unknown> }> {
  const keys = new Set<string>();
  for (const m of mappings) for (const { path } of mappingPaths(m)) if (path.root === 'steps') keys.add(path.step);
  return { input: c.run.input, steps: await stepRuns.stepOutputs(c.sql, c.orgId, refOf(c.run), [...keys]) };
}

async function begin(deps: WorkflowEngineDeps, sql: Sql, job: ClaimedJob, ref: RunRef, key: string, attempt: number | undefined): Promise<Plan> {
  const run = await runs.lockRun(sql, job.orgId, ref);
  if (!run) return done('the run does not exist');
  if (runs.FINAL_RUN_STATUSES.has(run.status)) return done(`the run is ${run.status}`);
  const c: RunCtx = { deps, sql, orgId: job.orgId, run, def: await loadDefinition(sql, job.orgId, run) };
  const sr = await stepRuns.lockStepRun(sql, job.orgId, ref, key);
  if (!sr) return done('the step run does not exist');
  if (sr.status !== 'pending' && sr.status !== 'running') return done(`the step is ${sr.status}`);
  // Not this job's attempt (see the top of this file). A job without an attempt predates the field and is let through.
  if (sr.status === 'pending' && attempt !== undefined && attempt !== sr.attempts + 1) {
    return done(`superseded: the step waits for attempt ${sr.attempts + 1}, this job is for attempt ${attempt}`);
  }
  if (sr.status === 'running' && sr.jobId !== job.id) return done(`superseded: attempt ${sr.attempts} of the step runs under job ${sr.jobId}`);

  const dot = key.indexOf('.');
  const parent = findStep(c.def, dot < 0 ? key : key.slice(0, dot));
  if (!parent || (dot >= 0 && parent.type !== 'fan_out')) {
    await failRun(c, key, 'the step is not in the definition the run executes');
    return done('failed');
  }
  // The agent or tool a call runs: the step's own, or for a fan-out item its fan_out's template.
  const runner: RunnerStep | null = dot >= 0 ? (parent as FanOutStep).step : parent.type === 'agent' || parent.type === 'tool' ? parent : null;
  // Only calls stay "running" across transactions (the other steps finish in this one): still
  // running here, under this job, means its earlier delivery was cut short, and the step runs again.
  // The job's attempt number counts those deliveries; a job given back at shutdown keeps its number.
  if (sr.status === 'running' && runner) {
    const interrupted = job.attempts - 1;
    if (interrupted > INTERRUPTED_STARTS) {
      await failRun(c, key, `interrupted ${interrupted} times without finishing; whatever runs it may be crashing`);
      return done('failed');
    }
  }
  if (dot >= 0) return startCall(c, job, key, runner!, sr.input);
  switch (parent.type) {
    case 'agent':
    case 'tool': {
      const base = await context(c, [parent.input ?? '$.input']);
      return startCall(c, job, key, parent, evaluateMapping(parent.input ?? '$.input', base));
    }
    case 'wait':
      return beginWait(c, job, parent);
    case 'approval':
      return beginApproval(c, job, parent);
    case 'fan_out':
      return beginFanOut(c, job, parent);
    case 'fan_in':
      return beginFanIn(c, job, parent);
  }
}

async function startCall(c: RunCtx, job: ClaimedJob, key: string, step: RunnerStep, input: unknown): Promise<Plan> {
  let agentId: string | null = null;
  if (step.type === 'agent') {
    agentId = isUuid(step.agent) ? step.agent : ((await findAgentRefs(c.sql, [], [step.agent]))[0]?.id ?? null);
    if (!agentId) {
      await failRun(c, key, `agent "${step.agent}" no longer exists`);
      return done('failed');
    }
  }
  const started = await stepRuns.startStepRun(c.sql, c.orgId, refOf(c.run), key, { status: 'running', input, jobId: job.id });
  return { kind: 'call', step, attempt: started.attempts, input, agentId };
}

async function beginWait(c: RunCtx, job: ClaimedJob, step: WaitStep): Promise<Plan> {
  const until = step.timeoutMs ? new Date(clock(c.deps).getTime() + step.timeoutMs) : null;
  await stepRuns.startStepRun(c.sql, c.orgId, refOf(c.run), step.key, {
    status: 'waiting', input: null, jobId: job.id, waitingFor: { event: step.event, until: until?.toISOString() ?? null },
  });
  // An event posted before the run got here is kept on the run; the latest of its name satisfies the
  // step unless a wait step took it already (then the step waits for a new one; earlier events of
  // that name are older than the one taken, so they are stale).
  let index = c.run.events.length - 1;
  while (index >= 0 && c.run.events[index]!.name !== step.event) index--;
  const early = index < 0 ? undefined : c.run.events[index]!;
  if (early && !early.consumedBy?.length) {
    await runs.markEventConsumed(c.sql, c.orgId, refOf(c.run), index, [step.key]);
    await completeStep(c, step.key, { output: { name: early.name, payload: early.payload, receivedAt: early.receivedAt } });
    return done('completed by an event received earlier');
  }
  if (until) await enqueueTimeout(c, step.key, until);
  await advance(c);
  return done('waiting');
}

async function beginApproval(c: RunCtx, job: ClaimedJob, step: ApprovalStep): Promise<Plan> {
  const approvers = step.approvers ?? (await membersWithRole(c.sql, step.role!));
  if (!approvers.length) {
    await failRun(c, step.key, `no active member holds role "${step.role}", so nobody can approve`);
    return done('failed');
  }
  const until = step.timeoutMs ? new Date(clock(c.deps).getTime() + step.timeoutMs) : null;
  await stepRuns.startStepRun(c.sql, c.orgId, refOf(c.run), step.key, {
    status: 'waiting', input: null, jobId: job.id,
    waitingFor: { approvers, role: step.role ?? null, message: step.message, until: until?.toISOString() ?? null },
  });
  await notifyIn(c.sql, c.orgId, approvers.map((userId) => ({
    userId,
    kind: 'workflow.approval',
    title: `Approval needed: workflow "${c.def.name}", step "${step.key}"`.slice(0, 255),
    body: step.message,
    data: { workflowId: c.run.workflowId, executionId: c.run.id, stepKey: step.key, message: step.message },
    resourceType: 'workflow_execution',
    resourceId: c.run.id,
  })), clock(c.deps));
  if (until) await enqueueTimeout(c, step.key, until);
  await advance(c);
  return done('waiting for approval');
}

async function beginFanOut(c: RunCtx, job: ClaimedJob, step: FanOutStep): Promise<Plan> {
  const itemInput = step.step.input ?? '$.item';
  const base = await context(c, [step.over, itemInput]);
  const over = evaluateMapping(step.over, base);
  const ref = refOf(c.run);
  await stepRuns.startStepRun(c.sql, c.orgId, ref, step.key, { status: 'running', input: { over }, jobId: job.id });
  if (!Array.isArray(over)) {
    await failRun(c, step.key, `over gave ${over === null ? 'null' : typeof over}, not an array`);
    return done('failed');
  }
  if (over.length > MAX_FAN_OUT_ITEMS) {
    await failRun(c, step.key, `over gave ${over.length} items; a fan_out runs at most ${MAX_FAN_OUT_ITEMS}`);
    return done('failed');
  }
  const items = over.map((item, index) => ({
    id: uuidv7(), key: `${step.key}.${index}`, type: step.step.type, input: evaluateMapping(itemInput, { ...base, item, index }),
  }));
  const inserted = await stepRuns.insertStepRuns(c.sql, c.orgId, ref, items);
  await enqueueSteps(c, [...inserted].map((key) => ({ key, attempt: 1 })));
  await completeStep(c, step.key, { output: { count: over.length } });
  return done(`fanned out to ${over.length} items`);
}

async function beginFanIn(c: RunCtx, job: ClaimedJob, step: FanInStep): Promise<Plan> {
  const ref = refOf(c.run);
  await stepRuns.startStepRun(c.sql, c.orgId, ref, step.key, { status: 'running', input: null, jobId: job.id });
  await completeStep(c, step.key, { output: await stepRuns.itemOutputs(c.sql, c.orgId, ref, step.from) });
  return done('completed');
}

/** The agent or tool call, under the step's timeout and the job's signal. */
async function call(deps: WorkflowEngineDeps, orgId: string, ref: RunRef, key: string, plan: Extract<Plan, { kind: 'call' }>, jobSignal: AbortSignal): Promise<Result> {
  const step = plan.step;
  const timeout = new AbortController();
  const timer = step.timeoutMs ? setTimeout(() => timeout.abort(new Error(`timed out after ${step.timeoutMs} ms`)), step.timeoutMs) : null;
  const signal = AbortSignal.any([jobSignal, timeout.signal]);
  let executionId: string | null = null;
  try {
    if (step.type === 'agent') {
      const r = await untilAborted(deps.runAgent(orgId, {
        agentId: plan.agentId!, ...(step.version ? { version: step.version } : {}), input: plan.input, parentWorkflowRunId: ref.id, stepKey: key, signal,
      }), signal);
      executionId = r.executionId ?? null;
      if (r.status !== 'completed') return { ok: false, error: r.error ?? `the agent execution ended ${r.status}`, executionId };
      return storable(r.output, executionId);
    }
    const r = await untilAborted(deps.runTool(orgId, { tool: step.tool, args: plan.input, parentWorkflowRunId: ref.id, stepKey: key, signal }), signal);
    if (r.isError) return { ok: false, error: `the tool reported an error: ${describe(r.details ?? r.output)}`, executionId };
    return storable(r.output, executionId);
  } catch (err) {
    if (timeout.signal.aborted && !jobSignal.aborted) return { ok: false, error: `timed out after ${step.timeoutMs} ms`, executionId };
    return { ok: false, error: errorText(err), executionId };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Settles with the work, or rejects as soon as the signal aborts (a runner that ignores its signal cannot hold the step). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {}); // its late rejection, after an abort, is nobody's concern
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.replaceAll('\u0000', '').slice(0, 1000);
}

/** An output the jsonb column can hold, or a failure saying why not. */
function storable(output: unknown, executionId: string | null): Result {
  let json: unknown;
  try {
    json = JSON.parse(JSON.stringify(output ?? null) ?? 'null');
  } catch (err) {
    return { ok: false, error: `the output is not JSON: ${errorText(err)}`, executionId };
  }
  const checked = Json.safeParse(json);
  if (!checked.success) return { ok: false, error: `the output cannot be stored: ${checked.error.issues[0]?.message}`, executionId };
  return { ok: true, output: json, executionId };
}

async function finish(
  deps: WorkflowEngineDeps, sql: Sql, orgId: string, ref: RunRef, key: string, plan: Extract<Plan, { kind: 'call' }>, result: Result,
): Promise<string> {
  const run = await runs.lockRun(sql, orgId, ref);
  if (!run || runs.FINAL_RUN_STATUSES.has(run.status)) return `discarded: the run is ${run?.status ?? 'gone'}`;
  const sr = await stepRuns.lockStepRun(sql, orgId, ref, key);
  // Cancelled meanwhile, or a later delivery took the step over: this attempt's result is not the step's.
  if (!sr || sr.status !== 'running' || sr.attempts !== plan.attempt) return `discarded: the step is ${sr?.status ?? 'gone'} (attempt ${sr?.attempts})`;
  const c: RunCtx = { deps, sql, orgId, run, def: await loadDefinition(sql, orgId, run) };
  if (result.ok) {
    await completeStep(c, key, { output: result.output, executionId: result.executionId });
    return 'completed';
  }
  const retries = plan.step.retries ?? 0;
  if (plan.attempt < retries + 1) {
    await stepRuns.settleStepRun(sql, orgId, ref, key, { status: 'pending', errorMessage: result.error.slice(0, 4000), executionId: result.executionId });
    const delay = exponentialBackoff(plan.attempt, { baseMs: plan.step.backoffMs ?? 1000, maxMs: 3_600_000 });
    await enqueueSteps(c, [{ key, attempt: plan.attempt + 1, runAt: new Date(clock(deps).getTime() + delay) }]);
    return `retrying after ${delay} ms`;
  }
  await failRun(c, key, result.error, { executionId: result.executionId });
  return 'failed';
}

/** A wait or approval step still waiting when its time is up fails, and with it the run. */
async function runTimeoutJob(deps: WorkflowEngineDeps, job: ClaimedJob, _ctx: JobContext, { ref, key }: StepJob): Promise<unknown> {
  return deps.db.tenant(job.orgId, async (sql) => {
    const run = await runs.lockRun(sql, job.orgId, ref);
    if (!run || runs.FINAL_RUN_STATUSES.has(run.status)) return { step: key, outcome: 'the run is over' };
    const sr = await stepRuns.lockStepRun(sql, job.orgId, ref, key);
    if (!sr || sr.status !== 'waiting') return { step: key, outcome: `the step is ${sr?.status ?? 'gone'}` };
    const c: RunCtx = { deps, sql, orgId: job.orgId, run, def: await loadDefinition(sql, job.orgId, run) };
    const step = findStep(c.def, key);
    const ms = step && (step.type === 'wait' || step.type === 'approval') ? step.timeoutMs : undefined;
    const what = step?.type === 'wait' ? `no event "${step.event}" arrived` : 'no approver decided';
    await failRun(c, key, `${what} within ${ms} ms`);
    return { step: key, outcome: 'timed out' };
  });
}
