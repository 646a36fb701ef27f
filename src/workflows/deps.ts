import type { Database } from '../db/index.js';

/** What an agent step asks of the runtime. */
export interface AgentRunRequest {
  agentId: string;
  /** a published version (semver); absent: the agent's current one */
  version?: string;
  input: unknown;
  /** the workflow run (workflow_executions.id) the agent execution belongs to */
  parentWorkflowRunId: string;
  stepKey: string;
  /** aborted on the step's timeout, or when the worker loses or gives back the job */
  signal: AbortSignal;
}

export interface AgentRunResult {
  executionId: string | null;
  /** 'completed' succeeds the step; anything else fails the attempt */
  status: string;
  output: unknown;
  error?: string | null;
}

export interface ToolRunRequest {
  /** the stored tool's name (or id) as the definition names it */
  tool: string;
  args: unknown;
  parentWorkflowRunId: string;
  stepKey: string;
  signal: AbortSignal;
}

export interface ToolRunResult {
  output: unknown;
  /** true fails the attempt; output/details say why */
  isError: boolean;
  details?: unknown;
}

export type AgentRunner = (orgId: string, req: AgentRunRequest) => Promise<AgentRunResult>;
export type ToolRunner = (orgId: string, req: ToolRunRequest) => Promise<ToolRunResult>;

export interface WorkflowsDeps {
  db: Database;
  /** the service clock (run start times are partition keys) */
  now?: () => Date;
  /** the job queue step jobs go to; default 'workflows' */
  queue?: string;
  /** runs agent steps; needed by the engine (workflowJobHandlers), not by the routes */
  runAgent?: AgentRunner;
  /** runs tool steps; likewise */
  runTool?: ToolRunner;
}

/** What the engine needs: the runners are no longer optional. */
export type WorkflowEngineDeps = WorkflowsDeps & { runAgent: AgentRunner; runTool: ToolRunner };

export const DEFAULT_QUEUE = 'workflows';
export const clock = (deps: WorkflowsDeps): Date => deps.now?.() ?? new Date();
export const queueOf = (deps: WorkflowsDeps): string => deps.queue ?? DEFAULT_QUEUE;
