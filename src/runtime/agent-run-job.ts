/**
 * The job handler of async runs (task agent.run, queue agent-runs). The lead
 * wires it into the service's Worker:
 *
 *   new Worker({ db, handlers: { [AGENT_RUN_TASK]: agentRunHandler(runtime) } })
 *
 * with the same RuntimeDeps as the routes, so a cancel request reaches a run
 * in flight on this process at once (elsewhere: at its next step).
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import { PermanentJobError, type JobHandler } from '../jobs/index.js';
import type { RuntimeDeps } from './deps.js';
import { runQueued } from './run-queued.js';

const Payload = z.object({ executionId: z.uuid() });

export function agentRunHandler(deps: RuntimeDeps): JobHandler {
  return async (job, ctx) => {
    const p = Payload.safeParse(job.payload);
    if (!p.success) throw new PermanentJobError(`agent.run needs the payload {"executionId": "<uuid>"}: ${p.error.issues[0]!.message}`);
    try {
      const r = await runQueued(deps, job.orgId, p.data.executionId, { signal: ctx.signal, lastAttempt: job.attempts >= job.maxAttempts });
      return { executionId: p.data.executionId, status: r.status };
    } catch (err) {
      // An execution that is not there, or not the runtime's, will not become runnable on a retry.
      if (err instanceof AppError && (err.status === 404 || err.status === 409)) throw new PermanentJobError(err.message);
      throw err;
    }
  };
}
