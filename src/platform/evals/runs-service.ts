/**
 * Eval runs: starting one (a pending result per case and the first jobs, in
 * one transaction), reading its progress, cancelling it, and comparing two
 * runs of a suite case by case. Running the cases is run-job.ts.
 */
import { announceRunFinished } from './run-finished.js';
import { requireAgent, resolveVersionIn, type AgentRow, type VersionRow } from '../../agents/index.js';
import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, type Sql } from '../../db/index.js';
import { AppError, badRequest, conflict, notFound, validationFailed } from '../../errors.js';
import { enqueueManyIn } from '../../jobs/index.js';
import { liveCaseIds } from './cases-repo.js';
import { clock, DEFAULT_CONCURRENCY, queueOf, type EvalsDeps } from './deps.js';
import { caseJob } from './run-job.js';
import * as runs from './runs-repo.js';
import type { EvalRunRow, ResultRow, ResultStatus } from './runs-repo.js';
import { requireSuite } from './suites-service.js';
import type { SuiteRow } from './suites-repo.js';

export interface StartRunInput {
  agentVersionId?: string | undefined;
  version?: string | undefined;
  concurrency?: number | undefined;
}

export type PublicResult = Omit<ResultRow, 'jobId'>;

export interface RunDetail extends EvalRunRow {
  suiteName: string | null;
  progress: { total: number; done: number } & Record<ResultStatus, number>;
  /** how the run measures against its suite's gate now (the suite's threshold may have changed since) */
  gate: { metric: string; threshold: number; value: number | null; passed: boolean } | null;
  results: PublicResult[];
}

/** A run's figure the suite's gate compares (null before any case finished). */
export function gateValue(run: EvalRunRow, suite: Pick<SuiteRow, 'gateMetric'>): number | null {
  return suite.gateMetric === 'average_score' ? run.averageScore : run.passRate;
}

async function detail(sql: Sql, orgId: string, run: EvalRunRow): Promise<RunDetail> {
  const suite = await requireSuiteOrNull(sql, orgId, run.suiteId);
  // Progress is counted from the results list itself, so the two agree (one statement, one snapshot).
  const results = (await runs.resultsOfRun(sql, orgId, run.id)).map(({ jobId: _jobId, ...r }) => r);
  const counts: Record<ResultStatus, number> = { pending: 0, running: 0, passed: 0, failed: 0, error: 0, cancelled: 0 };
  for (const r of results) counts[r.status]++;
  const done = counts.passed + counts.failed + counts.error + counts.cancelled;
  const value = suite ? gateValue(run, suite) : null;
  return {
    ...run,
    suiteName: suite?.name ?? null,
    progress: { total: run.totalTests, done, ...counts },
    gate: suite ? { metric: suite.gateMetric, threshold: suite.passThreshold, value, passed: run.status === 'completed' && value !== null && value >= suite.passThreshold } : null,
    results,
  };
}

async function requireSuiteOrNull(sql: Sql, orgId: string, id: string): Promise<SuiteRow | null> {
  try {
    return await requireSuite(sql, orgId, id);
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found') return null;
    throw err;
  }
}

/** The version a run tests: the named one, or the agent's current one. */
async function versionToTest(sql: Sql, agent: AgentRow, input: StartRunInput): Promise<VersionRow> {
  const ref = input.agentVersionId ?? input.version;
  try {
    return await resolveVersionIn(sql, agent, ref);
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'not_found')) throw err;
    if (ref === undefined) throw conflict(`agent ${agent.slug} has no published version; publish one or name agentVersionId`);
    const field = input.agentVersionId ? 'agentVersionId' : 'version';
    throw validationFailed(`${field}: agent ${agent.slug} has no version ${ref}`, [{ path: `body.${field}`, message: 'names no version of the suite\'s agent' }]);
  }
}

export async function startRun(deps: EvalsDeps, actor: Actor, suiteId: string, input: StartRunInput): Promise<RunDetail> {
  if (input.agentVersionId && input.version) {
    throw validationFailed('give agentVersionId or version, not both', [{ path: 'body.version', message: 'conflicts with agentVersionId' }]);
  }
  return deps.db.tenant(actor.orgId, async (sql) => {
    const suite = await requireSuite(sql, actor.orgId, suiteId);
    if (!suite.agentId) throw conflict('the suite\'s agent was deleted; point the suite at an agent (PATCH agentId) first');
    let agent: AgentRow;
    try {
      agent = await requireAgent(sql, suite.agentId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') throw conflict('the suite\'s agent was deleted; point the suite at another agent (PATCH agentId) first');
      throw err;
    }
    const version = await versionToTest(sql, agent, input);
    const caseIds = await liveCaseIds(sql, actor.orgId, suiteId);
    if (caseIds.length === 0) throw conflict('the suite has no test cases; add some with POST /v1/eval-suites/{id}/cases');
    const at = clock(deps);
    const id = uuidv7();
    const concurrency = input.concurrency ?? DEFAULT_CONCURRENCY;
    await runs.insertRun(sql, actor.orgId, { id, suiteId, agentId: agent.id, agentVersionId: version.id, concurrency, total: caseIds.length, userId: actor.userId, at });
    await runs.insertPendingResults(sql, actor.orgId, id, caseIds.map((caseId) => ({ id: uuidv7(), caseId })), at);
    // One chain of jobs per slot: each runs a case, then enqueues the next while cases are pending.
    const slots = Math.min(concurrency, caseIds.length);
    await enqueueManyIn(sql, Array.from({ length: slots }, (_, i) => caseJob(queueOf(deps), id, `eval:${id}:slot:${i}`)));
    await appendAudit(sql, actor, {
      action: 'eval_run.started', resourceType: 'eval_run', resourceId: id, agentId: agent.id,
      newValues: { suiteId, agentVersionId: version.id, agentVersion: version.version, cases: caseIds.length, concurrency },
    });
    return detail(sql, actor.orgId, (await runs.getRun(sql, actor.orgId, id))!);
  });
}

async function requireRun(sql: Sql, orgId: string, id: string, lock = false): Promise<EvalRunRow> {
  const r = await runs.getRun(sql, orgId, id, lock);
  if (!r) throw notFound('eval run', id);
  return r;
}

export function getRun(deps: EvalsDeps, orgId: string, id: string): Promise<RunDetail> {
  return deps.db.tenant(orgId, async (sql) => detail(sql, orgId, await requireRun(sql, orgId, id)));
}

export function listRuns(deps: EvalsDeps, orgId: string, suiteId: string, f: Omit<Parameters<typeof runs.listRuns>[2], 'suiteId'>): Promise<EvalRunRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    await requireSuite(sql, orgId, suiteId);
    return runs.listRuns(sql, orgId, { ...f, suiteId });
  });
}

/**
 * Cancels a run: its pending cases are never run (cancelled); cases already
 * running finish, and their results are kept and counted in the totals.
 */
export async function cancelRun(deps: EvalsDeps, actor: Actor, id: string): Promise<RunDetail> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const run = await requireRun(sql, actor.orgId, id, true);
    if (runs.FINAL_RUN_STATUSES.has(run.status)) throw conflict(`the eval run is already ${run.status}`, { status: run.status });
    const at = clock(deps);
    const cancelled = await runs.cancelPendingResults(sql, actor.orgId, id, at);
    await runs.writeTotals(sql, actor.orgId, id, at, { status: 'cancelled' });
    const after = (await runs.getRun(sql, actor.orgId, id))!;
    await announceRunFinished(sql, actor.orgId, after);
    await appendAudit(sql, actor, {
      action: 'eval_run.cancelled', resourceType: 'eval_run', resourceId: id, agentId: run.agentId,
      oldValues: { status: run.status }, newValues: { status: 'cancelled', casesCancelled: cancelled },
    });
    return detail(sql, actor.orgId, after);
  });
}

// -------------------------------------------------------------- compare

type Side = { status: ResultStatus; score: number | null; passed: boolean; costUsd: number | null; latencyMs: number | null; executionId: string | null } | null;

export interface CaseComparison {
  testCaseId: string;
  name: string;
  a: Side;
  b: Side;
  /** regressed: passed in a, not in b; improved: the reverse; added/removed: in one run only */
  change: 'regressed' | 'improved' | 'unchanged' | 'added' | 'removed';
  scoreDelta: number | null;
  costDelta: number | null;
  latencyDelta: number | null;
}

const side = (r: ResultRow | undefined): Side =>
  r ? { status: r.status, score: r.score, passed: r.status === 'passed', costUsd: r.costUsd, latencyMs: r.latencyMs, executionId: r.executionId } : null;
const delta = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : Math.round((b - a) * 1e6) / 1e6;

function runSummary(r: EvalRunRow) {
  return {
    id: r.id, status: r.status, agentVersionId: r.agentVersionId, agentVersion: r.agentVersion, totalTests: r.totalTests,
    passedTests: r.passedTests, failedTests: r.failedTests, errorTests: r.errorTests, passRate: r.passRate, averageScore: r.averageScore,
    costUsd: r.costUsd, totalTokens: r.totalTokens, latencyP50Ms: r.latencyP50Ms, latencyP95Ms: r.latencyP95Ms, completedAt: r.completedAt,
  };
}

/** Two runs of one suite side by side (a is the baseline, b the candidate). */
export function compareRuns(deps: EvalsDeps, orgId: string, suiteId: string, ids: [string, string]) {
  return deps.db.tenant(orgId, async (sql) => {
    await requireSuite(sql, orgId, suiteId);
    const [a, b] = [await requireRun(sql, orgId, ids[0]), await requireRun(sql, orgId, ids[1])];
    for (const r of [a, b]) {
      if (r.suiteId !== suiteId) throw badRequest(`runs: eval run ${r.id} is a run of another suite; compare two runs of suite ${suiteId}`, { field: 'runs' });
    }
    const [ra, rb] = [await runs.resultsOfRun(sql, orgId, a.id), await runs.resultsOfRun(sql, orgId, b.id)];
    const byCase = new Map<string, { name: string; a?: ResultRow; b?: ResultRow }>();
    for (const r of ra) byCase.set(r.testCaseId, { name: r.caseName, a: r });
    for (const r of rb) byCase.set(r.testCaseId, { ...(byCase.get(r.testCaseId) ?? { name: r.caseName }), b: r });
    const cases: CaseComparison[] = [...byCase.entries()].map(([testCaseId, x]) => {
      const sa = side(x.a);
      const sb = side(x.b);
      const change: CaseComparison['change'] = !sa ? 'added' : !sb ? 'removed'
        : sa.passed && !sb.passed ? 'regressed' : !sa.passed && sb.passed ? 'improved' : 'unchanged';
      return {
        testCaseId, name: x.name, a: sa, b: sb, change,
        scoreDelta: delta(sa?.score, sb?.score), costDelta: delta(sa?.costUsd, sb?.costUsd), latencyDelta: delta(sa?.latencyMs, sb?.latencyMs),
      };
    });
    const count = (c: CaseComparison['change']) => cases.filter((x) => x.change === c).length;
    return {
      suiteId,
      a: runSummary(a),
      b: runSummary(b),
      summary: {
        regressed: count('regressed'), improved: count('improved'), unchanged: count('unchanged'), added: count('added'), removed: count('removed'),
        passRateDelta: delta(a.passRate, b.passRate), averageScoreDelta: delta(a.averageScore, b.averageScore),
        costDelta: delta(a.costUsd, b.costUsd), tokensDelta: delta(a.totalTokens, b.totalTokens),
        latencyP50Delta: delta(a.latencyP50Ms, b.latencyP50Ms), latencyP95Delta: delta(a.latencyP95Ms, b.latencyP95Ms),
      },
      cases,
    };
  });
}
