/**
 * How workflow steps (and eval cases) reach the agent runtime. Workflows and
 * evals only know the runner shapes they declare (src/workflows/deps.ts,
 * src/platform/evals/deps.ts); the runtime knows nothing of them. This file,
 * at the composition root, joins them.
 */
import type { Actor } from './audit/index.js';
import { cancelExecution, loadAgentTools, runNow, type RunInput, type RuntimeDeps } from './runtime/index.js';
import type { AgentRunner, ToolRunner } from './workflows/index.js';
import type { EvalCaseRunner } from './platform/index.js';

/** Work a workflow does is done by the system on the organization's behalf. */
const systemActor = (orgId: string, requestId: string): Actor => ({ orgId, actorType: 'system', userId: null, requestId });

/** A mapped step input is any JSON; an agent takes text or messages. */
function asRunInput(input: unknown): RunInput {
  if (typeof input === 'string') return input;
  if (Array.isArray(input) && input.every((m) => m && typeof m === 'object' && 'role' in m && 'content' in m)) return input as RunInput;
  return JSON.stringify(input ?? null);
}

/**
 * An agent answers text. When the text is a JSON object or array, later steps
 * can map into it ($.steps.plan.output.items[0]); anything else stays text.
 */
function structured(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return text;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return text;
  }
}

/**
 * A sync run of one agent version as the system, stopped when the signal
 * aborts: the step's or case's timeout, or a lost job lease, cancels the
 * execution so the loop stops at its next step and the record says why.
 */
async function runUntilAborted(runtime: RuntimeDeps, actor: Actor, input: Parameters<typeof runNow>[2], signal: AbortSignal) {
  let executionId: string | null = null;
  const onAbort = () => {
    if (executionId) cancelExecution(runtime, actor, executionId).catch(() => {});
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Aborted before the run began (the lease was lost while waiting): start nothing.
    signal.throwIfAborted();
    const r = await runNow(runtime, actor, input, {
      onCreated: (id) => {
        executionId = id;
        // An abort that came while the run was being prepared had no execution to cancel yet.
        if (signal.aborted) onAbort();
      },
    });
    const o = r.outcome;
    return {
      executionId: r.executionId,
      status: r.status,
      output: o.status === 'completed' ? o.output : null,
      error: r.status === 'completed' ? null : o.status === 'completed' ? `the execution was ${r.status}` : o.errorMessage,
    };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export function agentRunner(runtime: RuntimeDeps): AgentRunner {
  return async (orgId, req) => {
    const actor = systemActor(orgId, `workflow:${req.parentWorkflowRunId}:${req.stepKey}`.slice(0, 100));
    const input = { agentId: req.agentId, version: req.version, input: asRunInput(req.input), mode: 'sync' as const, requestId: actor.requestId ?? undefined };
    const r = await runUntilAborted(runtime, actor, input, req.signal);
    return { ...r, output: r.output === null ? null : structured(r.output) };
  };
}

export function toolRunner(runtime: RuntimeDeps): ToolRunner {
  return async (orgId, req) => {
    const loaded = await runtime.db.tenant(orgId, (sql) =>
      loadAgentTools(sql, orgId, [req.tool], { keys: runtime.keys, egress: { allowPrivate: runtime.config.egressAllowPrivate }, integrationToken: runtime.integrationToken }),
    );
    const tool = loaded.tools[0];
    if (!tool) {
      const why = loaded.inactive.length ? 'is switched off' : 'does not exist';
      return { output: { error: `tool ${req.tool} ${why}` }, isError: true };
    }
    const args = req.args && typeof req.args === 'object' && !Array.isArray(req.args) ? (req.args as Record<string, unknown>) : {};
    const outcome = await tool.run(args, {
      orgId,
      agentId: '',
      executionId: req.parentWorkflowRunId,
      sessionId: undefined,
      depth: 0,
      callPath: [],
      signal: req.signal,
      tenant: (fn) => runtime.db.tenant(orgId, fn),
    });
    return { output: outcome.output, isError: outcome.isError, details: outcome.details };
  };
}

/**
 * Runs an eval case (or an llm_judge's judge agent): a sync run of the named
 * version, as the system on the organization's behalf. The worker giving up
 * the job cancels the execution, as for workflow steps.
 */
export function evalAgentRunner(runtime: RuntimeDeps): EvalCaseRunner {
  return async (orgId, req) => {
    const actor = systemActor(orgId, req.requestId.slice(0, 100));
    const input = { agentId: req.agentId, version: req.version, input: req.input, mode: 'sync' as const, requestId: actor.requestId ?? undefined };
    const r = await runUntilAborted(runtime, actor, input, req.signal);
    // A case scores only what a completed execution answered.
    return { ...r, output: r.status === 'completed' ? r.output : null };
  };
}
