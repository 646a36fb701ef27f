import { uuidv7, type Sql } from '../db/index.js';
import { emitEvent } from '../events/index.js';
import { enqueueManyIn } from '../jobs/index.js';
import { notifyIn } from '../notifications/index.js';
import type { Definition, Step } from './definition-schema.js';
import { clock, queueOf, type WorkflowsDeps } from './deps.js';
import * as runs from './runs-repo.js';
import type { RunRef, RunRow } from './runs-repo.js';
import * as stepRuns from './step-runs-repo.js';
import type { StepOutcome } from './step-runs-repo.js';
import * as workflows from './workflows-repo.js';

/**
 * Moving a run forward, always inside a tenant transaction that holds the
 * run's row lock (runs.lockRun): what it schedules commits together with the
 * result that made it ready, or not at all.
 */

export const STEP_TASK = 'workflow.step';
export const TIMEOUT_TASK = 'workflow.timeout';
// A step job's own retries cover infrastructure failures (the database away);
// a step's failures are retried by the engine with a new job (see engine.ts).
const STEP_JOB_ATTEMPTS = 10;

export interface StepJobPayload {
  runId: string;
  /** the run's partition key, ISO 8601 */
  startedAt: string;
  stepKey: string;
  /** the step attempt a step job is for (engine.ts lets it run only while that is the step's next or current one) */
  attempt?: number;
}

/** One run being changed: its locked row, what it executes, and where to write. */
export interface RunCtx {
  deps: WorkflowsDeps;
  sql: Sql;
  orgId: string;
  run: RunRow;
  def: Definition & { name: string };
}

export const refOf = (run: RunRow): RunRef => ({ id: run.id, startedAt: new Date(run.startedAt) });

export async function loadDefinition(sql: Sql, orgId: string, run: RunRow): Promise<RunCtx['def']> {
  const def = await workflows.runDefinition(sql, orgId, run.workflowId, run.workflowVersion);
  if (!def) throw new Error(`version ${run.workflowVersion} of workflow ${run.workflowId} is missing`);
  return def;
}

export const findStep = (def: Definition, key: string): Step | undefined => def.steps.find((s) => s.key === key);

const jobOf = (run: RunRow, stepKey: string, attempt?: number): StepJobPayload => ({
  runId: run.id, startedAt: new Date(run.startedAt).toISOString(), stepKey, ...(attempt === undefined ? {} : { attempt }),
});

/**
 * Enqueues one job per step key, in the caller's transaction. The idempotency
 * key names the attempt, so one attempt of one step has at most one job.
 */
export async function enqueueSteps(c: RunCtx, keys: Array<{ key: string; attempt: number; runAt?: Date }>): Promise<void> {
  if (!keys.length) return;
  await enqueueManyIn(c.sql, keys.map((k) => ({
    queue: queueOf(c.deps),
    task: STEP_TASK,
    payload: jobOf(c.run, k.key, k.attempt),
    maxAttempts: STEP_JOB_ATTEMPTS,
    idempotencyKey: `wf:${c.run.id}:${k.key}:${k.attempt}`,
    ...(k.runAt ? { runAt: k.runAt } : {}),
  })));
}

/** A job that fails a wait or approval step still waiting at `at`. */
export async function enqueueTimeout(c: RunCtx, key: string, at: Date): Promise<void> {
  await enqueueManyIn(c.sql, [{
    queue: queueOf(c.deps), task: TIMEOUT_TASK, payload: jobOf(c.run, key), runAt: at, maxAttempts: STEP_JOB_ATTEMPTS,
    idempotencyKey: `wf:${c.run.id}:${key}:timeout`,
  }]);
}

/** Steps nothing depends on: their outputs are the run's output. */
export function sinkKeys(def: Definition): string[] {
  const used = new Set(Object.values(def.dependencies).flat());
  return def.steps.map((s) => s.key).filter((k) => !used.has(k));
}

/**
 * Schedules every step whose prerequisites have all completed (a fan_in also
 * waits for all its fan_out's items), then sets the run's status from its
 * steps: running while any step is pending or running, waiting while only
 * wait/approval steps are open, completed when every step has completed.
 */
export async function advance(c: RunCtx): Promise<RunRow> {
  const ref = refOf(c.run);
  const p = await stepRuns.stepProgress(c.sql, c.orgId, ref);
  if (p.counts.failed || runs.FINAL_RUN_STATUSES.has(c.run.status)) return c.run;
  const done = (k: string) => p.steps.get(k) === 'completed';
  const itemsDone = (k: string) => {
    const it = p.items.get(k);
    return !it || it.completed === it.total;
  };
  const ready = c.def.steps.filter(
    (s) => !p.steps.has(s.key) && c.def.dependencies[s.key]!.every(done) && (s.type !== 'fan_in' || itemsDone(s.from)),
  );
  const inserted = await stepRuns.insertStepRuns(c.sql, c.orgId, ref, ready.map((s) => ({ id: uuidv7(), key: s.key, type: s.type })));
  await enqueueSteps(c, [...inserted].map((key) => ({ key, attempt: 1 })));

  const open = (p.counts.pending ?? 0) + (p.counts.running ?? 0) + inserted.size;
  const waiting = p.counts.waiting ?? 0;
  const total = Object.values(p.counts).reduce((a, b) => a + b, 0);
  const allDone = open === 0 && waiting === 0 && (p.counts.completed ?? 0) === total && c.def.steps.every((s) => p.steps.has(s.key));
  let status: runs.RunStatus | null = null;
  if (allDone) status = 'completed';
  else if (open > 0) status = 'running';
  else if (waiting > 0) status = 'waiting';
  if (status === 'completed') {
    const output = await stepRuns.stepOutputs(c.sql, c.orgId, ref, sinkKeys(c.def));
    c.run = await runs.setRunStatus(c.sql, c.orgId, ref, { status, output });
    await emitEvent(c.sql, c.orgId, 'workflow.completed', { workflowId: c.run.workflowId, executionId: c.run.id, status: 'completed', error: null });
  } else if (status && status !== c.run.status) {
    c.run = await runs.setRunStatus(c.sql, c.orgId, ref, { status });
  }
  return c.run;
}

/** A step finished well: its output is stored and what it unblocks is scheduled, in this one transaction. */
export async function completeStep(c: RunCtx, key: string, o: Omit<StepOutcome, 'status'>): Promise<RunRow> {
  await stepRuns.settleStepRun(c.sql, c.orgId, refOf(c.run), key, { ...o, status: 'completed' });
  return advance(c);
}

/**
 * A step failed for good: the run fails with the step's error, every step
 * still open is cancelled (a running attempt's late result is then
 * discarded), and the user who started the run is told.
 */
export async function failRun(c: RunCtx, key: string, error: string, o: Omit<StepOutcome, 'status' | 'errorMessage'> = {}): Promise<RunRow> {
  const ref = refOf(c.run);
  const message = `step "${key}" failed: ${error}`.slice(0, 4000);
  await stepRuns.settleStepRun(c.sql, c.orgId, ref, key, { ...o, status: 'failed', errorMessage: error.slice(0, 4000) });
  await stepRuns.cancelOpenStepRuns(c.sql, c.orgId, ref, `cancelled: ${message}`.slice(0, 4000));
  c.run = await runs.setRunStatus(c.sql, c.orgId, ref, { status: 'failed', errorMessage: message });
  await emitEvent(c.sql, c.orgId, 'workflow.failed', { workflowId: c.run.workflowId, executionId: c.run.id, status: 'failed', error: message });
  if (c.run.createdBy) {
    await notifyIn(c.sql, c.orgId, [{
      userId: c.run.createdBy,
      kind: 'workflow.failed',
      title: `Workflow "${c.def.name}" failed`,
      body: message,
      data: { workflowId: c.run.workflowId, executionId: c.run.id, stepKey: key },
      resourceType: 'workflow_execution',
      resourceId: c.run.id,
    }], clock(c.deps));
  }
  return c.run;
}
