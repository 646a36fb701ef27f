/**
 * Running a run's cases on the job queue. A run of concurrency n starts n
 * chains of `eval.case` jobs; each job takes the run's next pending case,
 * runs it through the agent runtime (outside any transaction), scores it,
 * records the result and, while cases are pending, enqueues the next job of
 * its chain — so at most n cases of a run are running at once, whatever the
 * number of workers. The job that records the last result finishes the run.
 *
 * Delivery is at least once. A case is taken by one job (results.job_id): a
 * job delivered again after it was interrupted finds its running case and
 * runs it again; one delivered again after it recorded finds the case
 * finished and does nothing (its successor was enqueued with the record, under
 * an idempotency key naming the case, so it exists once). A job whose
 * attempts run out records its case as an error and moves the chain on.
 *
 * Cancelling a run (runs-service.ts) cancels its pending cases: no chain
 * takes them. A case already running finishes and its result is recorded.
 */
import { announceRunFinished } from './run-finished.js';
import { z } from 'zod';
import { appendAudit, type Actor } from '../../audit/index.js';
import type { Sql } from '../../db/index.js';
import { enqueueIn, errorText, PermanentJobError, type ClaimedJob, type EnqueueInput, type JobContext, type JobHandler } from '../../jobs/index.js';
import { findExecution, type ExecutionRow } from '../../runs/index.js';
import { getCase, type CaseRow } from './cases-repo.js';
import { clock, queueOf, type EvalCaseRunner, type EvalsDeps } from './deps.js';
import * as runs from './runs-repo.js';
import type { EvalRunRow, ResultOutcome } from './runs-repo.js';
import { scoreOutput } from './scorers.js';

export const EVAL_CASE_TASK = 'eval.case';
const MAX_ATTEMPTS = 5;

export type EvalJobDeps = EvalsDeps & { runAgent: EvalCaseRunner };

const Payload = z.object({ runId: z.uuid() });

export function caseJob(queue: string, runId: string, idempotencyKey: string): EnqueueInput {
  return { queue, task: EVAL_CASE_TASK, payload: { runId }, idempotencyKey, maxAttempts: MAX_ATTEMPTS };
}

/** The task handlers to give a Worker. */
export function evalJobHandlers(deps: EvalJobDeps): Record<string, JobHandler> {
  return { [EVAL_CASE_TASK]: (job, ctx) => caseJobHandler(deps, job, ctx) };
}

const systemActor = (orgId: string, runId: string): Actor => ({ orgId, actorType: 'system', userId: null, requestId: `eval:${runId}` });

interface Claim {
  run: EvalRunRow;
  resultId: string;
  testCase: CaseRow;
}

async function caseJobHandler(deps: EvalJobDeps, job: ClaimedJob, ctx: JobContext): Promise<unknown> {
  const p = Payload.safeParse(job.payload);
  if (!p.success) throw new PermanentJobError(`job ${job.id} has no valid eval case payload: ${p.error.message}`);
  const { runId } = p.data;
  const orgId = job.orgId;
  try {
    const claim = await deps.db.tenant(orgId, (sql) => claimCase(deps, sql, orgId, runId, job.id));
    if (!claim) return { runId, ran: null };
    const outcome = await runCase(deps, orgId, claim, ctx.signal);
    // The lease is gone: another delivery owns the case now; record nothing.
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('the job was given up');
    await deps.db.tenant(orgId, (sql) => recordAndAdvance(deps, sql, orgId, runId, claim.resultId, job.id, outcome));
    return { runId, ran: claim.resultId, status: outcome.status };
  } catch (err) {
    const last = job.attempts >= job.maxAttempts || err instanceof PermanentJobError;
    if (!last || ctx.signal.aborted) throw err;
    // Last attempt: the case becomes an error and the chain moves on, so the run still finishes.
    await deps.db.tenant(orgId, async (sql) => {
      const mine = await runs.resultOfJob(sql, orgId, runId, job.id);
      if (!mine || mine.status !== 'running') return;
      await recordAndAdvance(deps, sql, orgId, runId, mine.id, job.id, errorOutcome(`the case's job failed ${job.attempts} times, last with: ${errorText(err)}`));
    });
    throw err;
  }
}

/** Under the run's lock: this job's running case (a redelivery), or the next pending one; null when there is nothing to do. */
async function claimCase(deps: EvalsDeps, sql: Sql, orgId: string, runId: string, jobId: string): Promise<Claim | null> {
  const run = await runs.getRun(sql, orgId, runId, true);
  if (!run || runs.FINAL_RUN_STATUSES.has(run.status)) return null;
  const at = clock(deps);
  await runs.markRunStarted(sql, orgId, runId, at);
  const mine = await runs.resultOfJob(sql, orgId, runId, jobId);
  let resultId: string;
  let caseId: string;
  if (mine) {
    // Recorded already: this delivery repeats a job that finished.
    if (mine.status !== 'running') return null;
    resultId = mine.id;
    caseId = mine.testCaseId;
  } else {
    const next = await runs.claimNextResult(sql, orgId, runId, jobId, at);
    if (!next) {
      await finishIfDone(deps, sql, orgId, runId);
      return null;
    }
    resultId = next.id;
    caseId = next.testCaseId;
  }
  const testCase = await getCase(sql, orgId, run.suiteId, caseId, { withDeleted: true });
  if (!testCase) throw new PermanentJobError(`eval case ${caseId} of run ${runId} is gone`);
  return { run: (await runs.getRun(sql, orgId, runId))!, resultId, testCase };
}

function errorOutcome(feedback: string, base: Partial<ResultOutcome> = {}): ResultOutcome {
  return {
    executionId: null, actualOutput: null, details: null, costUsd: null, totalTokens: null, latencyMs: null, ...base,
    status: 'error', score: 0, feedback: feedback.slice(0, 4000),
  };
}

function latencyOf(e: ExecutionRow | undefined): number | null {
  if (!e) return null;
  if (e.latencyMs !== null) return e.latencyMs;
  if (e.executionTimeMs !== null) return e.executionTimeMs;
  if (e.startedAt && e.completedAt) return Math.max(0, new Date(e.completedAt).getTime() - new Date(e.startedAt).getTime());
  return null;
}

/** Runs one case and scores it. Refusals and scoring failures become error outcomes; only an aborted job throws. */
async function runCase(deps: EvalJobDeps, orgId: string, c: Claim, signal: AbortSignal): Promise<ResultOutcome> {
  const requestId = `eval:${c.run.id}:${c.testCase.id}`;
  const input = c.testCase.input as string | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  let r;
  try {
    r = await deps.runAgent(orgId, { agentId: c.run.agentId, version: c.run.agentVersionId ?? undefined, input, requestId, signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return errorOutcome(`the agent could not be run: ${err instanceof Error ? err.message : String(err)}`);
  }
  const e = r.executionId ? await findExecution({ db: deps.db }, orgId, r.executionId) : undefined;
  const base: Partial<ResultOutcome> = {
    executionId: r.executionId, costUsd: e?.costUsd ?? null, totalTokens: e?.totalTokens ?? null, latencyMs: latencyOf(e),
  };
  if (r.status !== 'completed' || r.output === null) {
    return errorOutcome(`the agent's execution ${r.status}${r.error ? `: ${r.error}` : ''}`, base);
  }
  try {
    const s = await scoreOutput(c.testCase.scorer, {
      output: r.output, expected: c.testCase.expectedOutput, rubric: c.testCase.scoringRubric, input: c.testCase.input,
    }, { orgId, agentId: c.run.agentId, requestId, signal, embed: deps.embed, runAgent: deps.runAgent });
    const score = Math.min(1, Math.max(0, s.score));
    return {
      ...base, executionId: r.executionId, costUsd: base.costUsd ?? null, totalTokens: base.totalTokens ?? null, latencyMs: base.latencyMs ?? null,
      status: score >= c.testCase.passThreshold ? 'passed' : 'failed',
      score, actualOutput: r.output, feedback: s.feedback.slice(0, 4000), details: s.details ?? null,
    };
  } catch (err) {
    if (signal.aborted) throw err;
    const details = err && typeof err === 'object' && 'details' in err ? (err as { details?: unknown }).details : undefined;
    return errorOutcome(`scoring failed: ${err instanceof Error ? err.message : String(err)}`, { ...base, actualOutput: r.output, details: details ?? null });
  }
}

/** Records the outcome (if the case is still this job's), then enqueues the chain's next job or finishes the run. */
async function recordAndAdvance(deps: EvalsDeps, sql: Sql, orgId: string, runId: string, resultId: string, jobId: string, o: ResultOutcome): Promise<void> {
  const run = await runs.getRun(sql, orgId, runId, true);
  if (!run) return;
  const at = clock(deps);
  if (!(await runs.recordResult(sql, orgId, resultId, jobId, o, at))) return;
  if (runs.FINAL_RUN_STATUSES.has(run.status)) {
    // Cancelled while this case ran: its result still counts.
    await runs.writeTotals(sql, orgId, runId, at);
    return;
  }
  const counts = await runs.resultCounts(sql, orgId, runId);
  if (counts.pending > 0) {
    await enqueueIn(sql, caseJob(queueOf(deps), runId, `eval:${runId}:after:${resultId}`));
    await runs.writeTotals(sql, orgId, runId, at);
  } else if (counts.running === 0) {
    await finishRun(deps, sql, orgId, runId, 'completed');
  } else {
    await runs.writeTotals(sql, orgId, runId, at);
  }
}

/** A chain found nothing pending: if nothing runs either, the run is done (a lost last job, a redelivery). */
async function finishIfDone(deps: EvalsDeps, sql: Sql, orgId: string, runId: string): Promise<void> {
  const counts = await runs.resultCounts(sql, orgId, runId);
  if (counts.pending === 0 && counts.running === 0) await finishRun(deps, sql, orgId, runId, 'completed');
}

async function finishRun(deps: EvalsDeps, sql: Sql, orgId: string, runId: string, status: 'completed' | 'failed', error?: string): Promise<void> {
  await runs.writeTotals(sql, orgId, runId, clock(deps), { status, error: error ?? null });
  const run = (await runs.getRun(sql, orgId, runId))!;
  await announceRunFinished(sql, orgId, run);
  await appendAudit(sql, systemActor(orgId, runId), {
    action: `eval_run.${status}`, resourceType: 'eval_run', resourceId: runId, agentId: run.agentId,
    newValues: {
      status, totalTests: run.totalTests, passedTests: run.passedTests, failedTests: run.failedTests, errorTests: run.errorTests,
      passRate: run.passRate, averageScore: run.averageScore, costUsd: run.costUsd,
    },
  });
}
