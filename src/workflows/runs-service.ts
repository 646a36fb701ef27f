import { appendAudit, type Actor } from '../audit/index.js';
import { uuidv7, type Sql } from '../db/index.js';
import { AppError, badRequest, conflict, notFound } from '../errors.js';
import { clock, type WorkflowsDeps } from './deps.js';
import { advance, completeStep, failRun, findStep, loadDefinition, refOf, type RunCtx } from './progress.js';
import * as runs from './runs-repo.js';
import type { RunFilter, RunRow } from './runs-repo.js';
import * as stepRuns from './step-runs-repo.js';
import type { StepRunRow } from './step-runs-repo.js';
import * as workflows from './workflows-repo.js';

export type RunDetail = RunRow & { steps: StepRunRow[] };

// Events kept on one run: enough for any real conversation with a workflow, and a bound on the row.
const MAX_EVENTS = 100;

/**
 * Starts a run of the workflow's current version: the run row, its first
 * steps' rows and their jobs commit together (202: it runs on the job queue).
 */
export async function startRun(deps: WorkflowsDeps, actor: Actor, workflowId: string, input: unknown): Promise<RunRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    // Shared lock: an edit or delete waits until this run has recorded the version it runs.
    const w = await workflows.getWorkflow(sql, actor.orgId, workflowId, 'share');
    if (!w) throw notFound('workflow', workflowId);
    if (w.status !== 'active') {
      throw conflict(`workflow ${workflowId} is ${w.status}; only an active workflow can be started (PATCH it with status "active")`, { status: w.status });
    }
    const run = await runs.insertRun(sql, actor.orgId, {
      id: uuidv7(), workflowId, workflowVersion: w.version, input, createdBy: actor.userId, startedAt: clock(deps),
    });
    const c: RunCtx = { deps, sql, orgId: actor.orgId, run, def: { name: w.name, steps: w.steps, dependencies: w.dependencies } };
    await advance(c);
    await appendAudit(sql, actor, {
      action: 'workflow_execution.started', resourceType: 'workflow_execution', resourceId: run.id,
      newValues: { workflowId, workflowVersion: w.version },
    });
    return c.run;
  });
}

export function listRuns(deps: WorkflowsDeps, orgId: string, f: RunFilter): Promise<RunRow[]> {
  return deps.db.tenant(orgId, (sql) => runs.listRuns(sql, orgId, f));
}

async function detail(sql: Sql, orgId: string, run: RunRow): Promise<RunDetail> {
  return { ...run, steps: await stepRuns.listStepRuns(sql, orgId, refOf(run)) };
}

export function getRun(deps: WorkflowsDeps, orgId: string, id: string): Promise<RunDetail> {
  return deps.db.tenant(orgId, async (sql) => {
    const run = await runs.getRun(sql, orgId, id);
    if (!run) throw notFound('workflow execution', id);
    return detail(sql, orgId, run);
  });
}

/** The run row-locked and still open, or 404/409. */
async function openRun(deps: WorkflowsDeps, sql: Sql, orgId: string, id: string, wanted: string): Promise<RunCtx> {
  const run = await runs.getRun(sql, orgId, id, true);
  if (!run) throw notFound('workflow execution', id);
  if (runs.FINAL_RUN_STATUSES.has(run.status)) throw conflict(`workflow execution ${id} is ${run.status}; ${wanted}`, { status: run.status });
  return { deps, sql, orgId, run, def: await loadDefinition(sql, orgId, run) };
}

/** Cancels a run that has not finished: its open steps are cancelled, and a result arriving later is discarded. */
export function cancelRun(deps: WorkflowsDeps, actor: Actor, id: string): Promise<RunDetail> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const c = await openRun(deps, sql, actor.orgId, id, 'only an unfinished run can be cancelled');
    const ref = refOf(c.run);
    await stepRuns.cancelOpenStepRuns(sql, actor.orgId, ref, 'cancelled with the run');
    const run = await runs.setRunStatus(sql, actor.orgId, ref, { status: 'cancelled', errorMessage: 'cancelled' });
    await appendAudit(sql, actor, {
      action: 'workflow_execution.cancelled', resourceType: 'workflow_execution', resourceId: id,
      oldValues: { status: c.run.status }, newValues: { status: run.status },
    });
    return detail(sql, actor.orgId, run);
  });
}

/**
 * Posts an event to a run. It completes every wait step parked on it now
 * (what they unblock is scheduled in the same transaction) and is kept on the
 * run; when it completed none, the first wait step of its name reached later
 * takes it. One event completes one wave of wait steps, never a later one too.
 */
export function postEvent(
  deps: WorkflowsDeps,
  actor: Actor,
  id: string,
  ev: { name: string; payload?: unknown },
): Promise<{ resumed: string[]; execution: RunDetail }> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const c = await openRun(deps, sql, actor.orgId, id, 'events can only be posted to an unfinished run');
    const waits = c.def.steps.flatMap((s) => (s.type === 'wait' ? [s.event] : []));
    if (!waits.includes(ev.name)) {
      throw badRequest(
        `no wait step of this workflow waits for event "${ev.name}"; ${waits.length ? `its wait steps wait for: ${[...new Set(waits)].join(', ')}` : 'it has no wait steps'}`,
        { field: 'name' },
      );
    }
    if (c.run.events.length >= MAX_EVENTS) throw conflict(`workflow execution ${id} already has ${MAX_EVENTS} events, the most one run keeps`);
    const ref = refOf(c.run);
    const event = { name: ev.name, payload: ev.payload ?? null, receivedAt: clock(deps).toISOString() };
    const resumed: string[] = [];
    for (const sr of await stepRuns.lockWaitingForEvent(sql, actor.orgId, ref, ev.name)) {
      await stepRuns.settleStepRun(sql, actor.orgId, ref, sr.stepKey, { status: 'completed', output: event });
      resumed.push(sr.stepKey);
    }
    // Used up by the steps it resumed: a wait step of that name reached later waits for a new one.
    await runs.appendRunEvent(sql, actor.orgId, ref, resumed.length ? { ...event, consumedBy: resumed } : event);
    if (resumed.length) await advance(c);
    await appendAudit(sql, actor, {
      action: 'workflow_execution.event', resourceType: 'workflow_execution', resourceId: id, newValues: { name: ev.name, resumed },
    });
    const run = (await runs.getRun(sql, actor.orgId, id))!;
    return { resumed, execution: await detail(sql, actor.orgId, run) };
  });
}

/**
 * An approver's decision on a waiting approval step. Approving completes it
 * (output: approved, by whom, comment) and schedules what it unblocks;
 * rejecting fails it, and the run with it.
 */
export function decideApproval(
  deps: WorkflowsDeps,
  actor: Actor & { userId: string },
  id: string,
  key: string,
  decision: { approved: boolean; comment?: string },
): Promise<RunDetail> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const c = await openRun(deps, sql, actor.orgId, id, 'its steps can no longer be decided');
    const step = findStep(c.def, key);
    if (!step || step.type !== 'approval') throw notFound(`approval step "${key}" of workflow execution`, id);
    const ref = refOf(c.run);
    const sr = await stepRuns.lockStepRun(sql, actor.orgId, ref, key);
    if (!sr || sr.status !== 'waiting') {
      throw conflict(`step "${key}" is ${sr?.status ?? 'not started yet'}; only a step waiting for approval can be decided`, { status: sr?.status ?? null });
    }
    const approvers = (sr.waitingFor?.approvers ?? []) as string[];
    if (!approvers.includes(actor.userId)) {
      throw new AppError(403, 'forbidden', `only the approvers of step "${key}" may decide it, and you are not one of them`, { stepKey: key });
    }
    const output = { approved: decision.approved, decidedBy: actor.userId, comment: decision.comment ?? null, decidedAt: clock(deps).toISOString() };
    if (decision.approved) {
      await completeStep(c, key, { output, decidedBy: actor.userId });
    } else {
      await failRun(c, key, `rejected by ${actor.userId}${decision.comment ? `: ${decision.comment}` : ''}`, { output, decidedBy: actor.userId });
    }
    await appendAudit(sql, actor, {
      action: decision.approved ? 'workflow_execution.approved' : 'workflow_execution.rejected',
      resourceType: 'workflow_execution', resourceId: id, newValues: { stepKey: key, comment: decision.comment ?? null },
    });
    const run = (await runs.getRun(sql, actor.orgId, id))!;
    return detail(sql, actor.orgId, run);
  });
}
