import type { FastifyPluginAsync } from 'fastify';
import type { EvalsDeps } from './deps.js';
import { runRoutes } from './routes/runs-routes.js';
import { suiteRoutes } from './routes/suites-routes.js';

/**
 * Evals: test an agent version against suites of cases, and gate promotions on the results.
 *
 * Terminology:
 * - suite:      named test cases for one agent (eval_suites), with a pass threshold, the
 *               run figure it applies to (gateMetric: pass_rate or average_score) and a
 *               gate mode (required | if_run | off).
 * - case:       one input (text or messages) with an expected output, a scorer, an
 *               optional rubric and a pass threshold (eval_test_cases).
 * - scorer:     how a case's output becomes a score in 0..1: exact, contains, regex,
 *               json_schema, numeric, embedding_similarity, llm_judge (scorers.ts). A case
 *               passes when its score reaches its threshold; an error (the run or the
 *               scorer failed) scores 0.
 * - run:        every live case of a suite run against one agent version (eval_runs):
 *               pending → running → completed | failed | cancelled, with totals.
 * - result:     one case in one run (eval_results): written pending when the run starts,
 *               then running, then passed | failed | error | cancelled, linked to the
 *               agent's execution, with its cost, tokens and latency.
 * - chain:      a sequence of eval.case jobs, one case each; a run has `concurrency`
 *               chains, which is what bounds its parallelism (run-job.ts).
 * - gate:       the check promote makes: each gating suite's latest completed run of the
 *               version must reach the suite's threshold (gate-service.ts).
 */

export type { EvalsDeps, EvalCaseRunner, EvalAgentRequest, EvalAgentResult, EvalEmbed } from './deps.js';
export { DEFAULT_QUEUE as EVAL_QUEUE } from './deps.js';
export type { EvalRunRow, ResultRow } from './runs-repo.js';
export type { SuiteRow } from './suites-repo.js';
export type { CaseRow } from './cases-repo.js';
export { EVAL_CASE_TASK, evalJobHandlers, type EvalJobDeps } from './run-job.js';
export { ScorerConfig, SCORER_TYPES, DEFAULT_THRESHOLDS } from './scorer-config.js';
export { scoreOutput, type Scored } from './scorers.js';
export { regexProblem } from './regex-guard.js';
export { judgePrompt, parseVerdict } from './judge.js';
export { checkGate, promoteVersion, type GateReport } from './gate-service.js';

export function evalsRoutes(deps: EvalsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(suiteRoutes(deps));
    await app.register(runRoutes(deps));
  };
}
