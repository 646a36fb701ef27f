import type { FastifyPluginAsync } from 'fastify';
import type { WorkflowsDeps } from './deps.js';
import { runRoutes } from './routes/runs-routes.js';
import { workflowRoutes } from './routes/workflows-routes.js';

/**
 * Terminology:
 * - workflow:  a named definition (seed 003 workflows): steps forming a DAG, and
 *              a status — draft, active (only these can be started), archived (final).
 * - version:   every save of a workflow is a new version (workflow_versions), also
 *              its optimistic lock; a run executes the version it started on.
 * - step:      one node of the DAG, with a unique key: agent (runs an agent), tool
 *              (calls a stored tool), wait (parks until an event), approval (parks
 *              until an approver decides), fan_out (one item step per element of an
 *              array), fan_in (waits for a fan_out's items; outputs theirs in order).
 *              dependsOn names the steps that must complete first; inputs are
 *              mappings from the run input and ancestors' outputs (mapping.ts).
 * - run:       one execution of a workflow version (workflow_executions, weekly
 *              partitions): pending → running ⇄ waiting → completed | failed |
 *              cancelled. Its output is the outputs of the sink steps, by key.
 * - step run:  the persisted state of one step of one run (workflow_step_runs),
 *              unique per (run, step key); fan-out items are "<key>.<index>".
 *              Written before the step starts and given its result before any
 *              step after it is scheduled: what makes a completed step never run
 *              twice, whatever crashes (engine.ts).
 * - attempt:   one start of a step run (attempts counts them); failures are
 *              retried up to the step's retries with exponential back-off, each
 *              retry a job of its own that runs only that attempt.
 * - event:     a named payload posted to a run; it resumes wait steps parked on
 *              that name, and is kept on the run: one that resumed none is taken
 *              by the first wait step of that name reached later. Either way it
 *              is used up (consumedBy): a later wait step waits for a new one.
 * - approval:  a decision by one of an approval step's approvers (listed user ids,
 *              or the members of a role when the step starts); they are notified.
 *              Approve continues the run; reject fails it.
 */

export type { WorkflowsDeps, WorkflowEngineDeps, AgentRunner, ToolRunner, AgentRunRequest, AgentRunResult, ToolRunRequest, ToolRunResult } from './deps.js';
export { DEFAULT_QUEUE as WORKFLOW_QUEUE } from './deps.js';
export type { WorkflowRow, WorkflowVersionRow, WorkflowStatus } from './workflows-repo.js';
export type { RunRow, RunStatus } from './runs-repo.js';
export type { StepRunRow, StepRunStatus } from './step-runs-repo.js';
export type { RunDetail } from './runs-service.js';
export type { Step, StepType } from './definition-schema.js';
export { STEP_TASK, TIMEOUT_TASK } from './progress.js';
export { workflowJobHandlers } from './engine.js';
export { parseDefinition } from './dag.js';
export { evaluateMapping, parsePath } from './mapping.js';
export { createWorkflow, getWorkflow, listWorkflows, updateWorkflow, deleteWorkflow, listWorkflowVersions, getWorkflowVersion } from './workflows-service.js';
export { startRun, listRuns, getRun, cancelRun, postEvent, decideApproval } from './runs-service.js';

export function workflowsRoutes(deps: WorkflowsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(workflowRoutes(deps));
    await app.register(runRoutes(deps));
  };
}
