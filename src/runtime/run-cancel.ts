import type { Actor } from '../audit/index.js';
import { conflict, notFound } from '../errors.js';
import { getExecution, type ExecutionRow } from '../runs/index.js';
import type { RuntimeDeps } from './deps.js';
import { ingestOwn, readExecution, runsDeps } from './run-recorder.js';
import { RUN_ERRORS } from './run-types.js';

const ACTIVE = new Set(['pending', 'queued', 'running']);

const finished = (e: ExecutionRow) =>
  conflict(`execution ${e.id} is ${e.status}; only a queued or running execution can be cancelled`, { status: e.status });

/**
 * Marks the execution cancelled (the status table decides: a finished one is
 * 409). A run in this process is aborted at once, model call included; a run
 * elsewhere stops at its next step, when it reads the status; a queued run's
 * job finds it cancelled and does nothing.
 */
export async function cancelExecution(deps: RuntimeDeps, actor: Actor, id: string) {
  const row = await readExecution(deps, actor.orgId, id);
  if (!row) throw notFound('execution', id);
  if (!ACTIVE.has(row.status)) throw finished(row);
  if (!row.clientId) throw conflict(`execution ${id} has no ingestion key, so it cannot be changed`);
  const message = `cancelled through POST /v1/executions/${id}/cancel`;
  const r = await ingestOwn(deps, actor, {
    executions: [{ clientId: row.clientId, status: 'cancelled', completedAt: new Date().toISOString(), errorCode: RUN_ERRORS.cancelled, errorMessage: message }],
  });
  if (r.results[0]!.status === 'rejected') {
    // It finished between the read and the update.
    const now = await readExecution(deps, actor.orgId, id);
    throw finished(now ?? row);
  }
  deps.running.cancel(id, message);
  return getExecution(runsDeps(deps), actor.orgId, id);
}
