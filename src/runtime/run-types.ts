/**
 * The vocabulary of one agent run.
 *
 * - run:     one execution of one agent version on an input, driven by the
 *            agent loop (model call → tool calls → model call …).
 * - step:    one model call and the tool calls it asked for.
 * - tree:    a top-level run and the runs its agents start with call_agent
 *            (child executions). They share one deadline and one token and
 *            cost budget, so a limit bounds everything a request set off.
 * - outcome: how a run ended, as recorded on its execution.
 */
export type RunMode = 'sync' | 'async' | 'stream';

export interface RunLimits {
  /** model calls per execution */
  maxSteps: number;
  /** wall clock of the whole tree, from the top-level run's start */
  timeoutMs: number;
  /** tokens (prompt + completion) of the whole tree; none when absent */
  maxTokens?: number | undefined;
  /** cost of the whole tree in USD, as the runs module prices it; none when absent */
  maxCostUsd?: number | undefined;
}

/**
 * What a caller labels a top-level run with, recorded on its execution:
 * metadata (its own keys, beside the runtime's `runtime` key), tags, and the
 * plan it belongs to (an id recorded as given: plans are not stored here yet).
 * The runs it starts with call_agent inherit the plan and the tags, as they
 * do its session, so a plan's or a tag's executions include the whole tree;
 * metadata describes one execution and is not inherited.
 */
export interface RunLabels {
  planId?: string | undefined;
  tags?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export interface InputMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What a caller sends: a user message, or a list of messages. */
export type RunInput = string | InputMessage[];

/** Server-sent events of a streamed run (mode 'stream'); `done` and `error` are written by the route. */
export type RunEvent =
  | { type: 'step'; executionId: string; step: number }
  | { type: 'delta'; executionId: string; step: number; text: string }
  | { type: 'tool_call'; executionId: string; step: number; id: string; name: string; arguments: Record<string, unknown> }
  | { type: 'tool_result'; executionId: string; step: number; id: string; name: string; output: unknown; isError: boolean; durationMs: number };

/** Error codes recorded on executions (executions.error_code) by the runtime. */
export const RUN_ERRORS = {
  maxSteps: 'max_steps_exceeded',
  maxTokens: 'max_tokens_exceeded',
  maxCost: 'cost_limit_exceeded',
  timeout: 'timeout',
  cancelled: 'cancelled',
  provider: 'provider_error',
  interrupted: 'interrupted',
  notConfigured: 'not_configured',
  internal: 'internal',
} as const;

export interface ProviderFailure {
  kind: string;
  status?: number | undefined;
  attempts: number;
}

export type RunOutcome =
  | { status: 'completed'; output: string }
  | {
      status: 'failed' | 'timeout' | 'cancelled';
      errorCode: string;
      errorMessage: string;
      provider?: ProviderFailure;
    };

/**
 * Why a run's signal was aborted: an explicit cancel, the tree's deadline, or
 * the worker running it going away (the run fails as interrupted).
 */
export class RunStop extends Error {
  override name = 'RunStop';
  constructor(
    readonly kind: 'cancelled' | 'timeout' | 'interrupted',
    message: string,
  ) {
    super(message);
  }

  outcome(): RunOutcome {
    if (this.kind === 'interrupted') return { status: 'failed', errorCode: RUN_ERRORS.interrupted, errorMessage: this.message };
    return { status: this.kind, errorCode: this.kind === 'timeout' ? RUN_ERRORS.timeout : RUN_ERRORS.cancelled, errorMessage: this.message };
  }
}

/** The shared deadline and budget of a tree; children add what they spend. */
export class RunBudget {
  tokens = 0;
  costUsd = 0;
  /** maxCostUsd is what was left of the organization's monthly cost budget (for the message that stops the run) */
  costFromOrgBudget = false;
  readonly deadline: number;
  /** aborted (with a RunStop 'timeout') when the deadline passes */
  readonly deadlineSignal: AbortSignal;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly limits: RunLimits,
    startedAt: number = Date.now(),
  ) {
    this.deadline = startedAt + limits.timeoutMs;
    const c = new AbortController();
    this.deadlineSignal = c.signal;
    this.timer = setTimeout(
      () => c.abort(new RunStop('timeout', `the run did not finish within its time limit of ${limits.timeoutMs} ms (limits.timeoutMs)`)),
      Math.max(0, this.deadline - Date.now()),
    );
    this.timer.unref();
  }

  /** Releases the timer once the tree has finished. */
  close(): void {
    clearTimeout(this.timer);
  }
}
