import type { Database } from '../../db/index.js';

/** What an eval asks of the agent runtime: run one agent version on one input. */
export interface EvalAgentRequest {
  /** the agent's id or slug */
  agentId: string;
  /** a version id or semver; absent: the agent's current version */
  version?: string | undefined;
  /** a user message, or messages */
  input: string | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  /** recorded on the execution (executions.request_id) */
  requestId: string;
  /** aborted when the worker loses or gives back the job: stop the run */
  signal: AbortSignal;
}

export interface EvalAgentResult {
  /** null when the run was refused before an execution was recorded */
  executionId: string | null;
  /** the execution's stored status: completed, failed, timeout, cancelled */
  status: string;
  /** the agent's answer (text) when completed */
  output: string | null;
  error?: string | null;
}

/**
 * Runs an agent for an eval: the case under test, and the judge agent of an
 * llm_judge scorer. Implemented at the composition root on the runtime
 * (src/workflow-runners.ts, evalAgentRunner): platform does not import it.
 * Refusals the runtime raises (an unconfigured provider, a quota) may be
 * thrown; the case is recorded as an error with the message.
 */
export type EvalCaseRunner = (orgId: string, req: EvalAgentRequest) => Promise<EvalAgentResult>;

/** Embeds texts in one space (the memory module's embedder for the agent); one L2-normalised vector per text. */
export type EvalEmbed = (orgId: string, agentId: string | null, texts: string[]) => Promise<number[][]>;

export interface EvalsDeps {
  db: Database;
  now?: () => Date;
  /** the job queue case jobs go to; default 'evals' */
  queue?: string;
  /** runs cases and judges; needed by the job handlers, not by the routes */
  runAgent?: EvalCaseRunner;
  /** embedding_similarity; without it such cases are recorded as errors */
  embed?: EvalEmbed;
}

export const DEFAULT_QUEUE = 'evals';
export const clock = (deps: EvalsDeps): Date => deps.now?.() ?? new Date();
export const queueOf = (deps: EvalsDeps): string => deps.queue ?? DEFAULT_QUEUE;

/** Cases run at once when a run does not say; at most MAX_CONCURRENCY. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 50;
/** Live cases a suite may hold (a run writes one result per case at its start). */
export const MAX_CASES_PER_SUITE = 1000;
