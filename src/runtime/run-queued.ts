/**
 * The agent.run job's side of an async run: the queued execution, recorded
 * with its input and limits by enqueueRun (run-service.ts), is started once
 * and driven to its end on the worker.
 */
import { getAgent, getAgentVersion } from '../agents/index.js';
import { AppError, conflict, notFound } from '../errors.js';
import { clock, type RuntimeDeps } from './deps.js';
import { costLeftUsd } from './quotas.js';
import { assertRunnable, prepareVersion, storedLimits, type PreparedRun } from './run-prepare.js';
import { ingestOwn, newSpanId, newTraceId, readExecution, recordStarted, systemActor } from './run-recorder.js';
import { execute, frameFor, treeBudget } from './run-service.js';
import { RUN_ERRORS, RunStop, type RunInput } from './run-types.js';

interface StoredRun {
  input: RunInput;
  limits: unknown;
}

export interface QueuedRunOptions {
  /** the job's: aborted when its lease is lost or the worker gives it back */
  signal?: AbortSignal | undefined;
  /** the job's last attempt: a failure that a retry could cure is recorded instead of retried */
  lastAttempt?: boolean | undefined;
}

const INTERRUPTED = 'the worker running this execution stopped before it finished; it is not run twice (its tools may have acted): start a new execution';

/**
 * A queued execution's job. Started by a compare-and-set on its status, so
 * of two deliveries of the job only one runs the loop.
 *
 * A delivery that finds the execution already running does not run it. The
 * job comes back only when the attempt that started the run lost its lease
 * (its worker died, or could not extend the lease and has aborted the run) or
 * failed: the run is then not alive anywhere whose lease is alive, and it is
 * marked interrupted, what the stopped attempt records itself if it still can.
 * The one exception is an attempt still unwinding in this process (its
 * controller is registered): it records its own outcome, so it is left alone.
 */
export async function runQueued(deps: RuntimeDeps, orgId: string, executionId: string, opts: QueuedRunOptions = {}): Promise<{ status: string }> {
  const { signal } = opts;
  const row = await readExecution(deps, orgId, executionId);
  if (!row) throw notFound('execution', executionId);
  if (!row.clientId?.startsWith('run:')) throw conflict(`execution ${executionId} was not recorded by the agent runtime, so it cannot be run`);
  const actor = systemActor(orgId);
  const bare = { executionId, clientId: row.clientId, createdAt: row.createdAt, traceId: row.traceId ?? newTraceId(), spanId: row.spanId ?? newSpanId() };
  if (row.status === 'running') return { status: await interruptStale(deps, orgId, executionId, bare.clientId) };
  if (row.status !== 'queued') return { status: row.status };
  const stored = ((row.input ?? {}) as { input?: RunInput }).input;
  const runtime = (row.metadata.runtime ?? {}) as Partial<StoredRun>;
  const now = clock(deps);
  let p: PreparedRun;
  let costLeft: number | undefined;
  try {
    if (stored === undefined || !row.agentId || !row.agentVersionId) throw conflict('the execution was not queued by the runtime (no input, agent or version)');
    const agentsDeps = { db: deps.db };
    const agent = await getAgent(agentsDeps, orgId, row.agentId);
    assertRunnable(agent);
    const version = await getAgentVersion(agentsDeps, orgId, agent.id, row.agentVersionId);
    // A session that ended or expired while the run waited fails it, as it would have refused the request.
    const session = row.sessionId ? { id: row.sessionId } : undefined;
    // The stored limits are checked again: the row is data, and the service's maximums may have changed.
    p = await prepareVersion(deps, orgId, agent, version, { input: stored, session, limits: storedLimits(deps, runtime.limits) }, now);
    costLeft = await costLeftUsd(deps.db, orgId, now);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // Passing trouble (the endpoint's host did not resolve just now): the job's retry may succeed.
    if (err.status === 503 && !opts.lastAttempt) throw err;
    // The agent changed since it was queued (deleted, misconfigured): the run cannot start, and retrying will not help.
    const r = await ingestOwn(deps, actor, {
      executions: [{ clientId: bare.clientId, status: 'failed', completedAt: new Date().toISOString(), errorCode: err.code, errorMessage: err.message }],
    });
    // Refused: it is no longer queued (cancelled meanwhile).
    if (r.results[0]!.status === 'rejected') return { status: (await readExecution(deps, orgId, executionId))?.status ?? 'unknown' };
    return { status: 'failed' };
  }
  const budget = treeBudget(p.limits, costLeft, now.getTime());
  // The plan and tags recorded when it was queued, for the runs it calls to inherit.
  const labels = { planId: row.planId ?? undefined, tags: row.tags };
  const frame = frameFor(p, bare, { actor, userId: row.userId, budget, labels, startedAt: now });
  const onAbort = () => frame.controller.abort(new RunStop('interrupted', 'the worker running this execution stopped before it finished: start a new execution'));
  signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted before the listener was attached: 'abort' does not fire twice.
  if (signal?.aborted) onAbort();
  try {
    // The job was given back (or its lease lost) before the run started: it stays queued for the next delivery.
    if (frame.controller.signal.aborted) return { status: 'queued' };
    if (!(await recordStarted(deps, frame, row.createdAt))) {
      const now = await readExecution(deps, orgId, executionId);
      // Started by another delivery between the read above and here: see the comment of the function.
      if (now?.status === 'running') return { status: await interruptStale(deps, orgId, executionId, bare.clientId) };
      return { status: now?.status ?? 'unknown' };
    }
    return { status: (await execute(deps, frame)).status };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    budget.close();
  }
}

/** A run found running by a later delivery of its job (see runQueued): marked interrupted unless it runs here. */
async function interruptStale(deps: RuntimeDeps, orgId: string, executionId: string, clientId: string): Promise<string> {
  if (deps.running.has(executionId)) return 'running';
  const r = await ingestOwn(deps, systemActor(orgId), {
    executions: [{ clientId, status: 'failed', completedAt: new Date().toISOString(), errorCode: RUN_ERRORS.interrupted, errorMessage: INTERRUPTED }],
  });
  if (r.results[0]!.status !== 'rejected') return 'failed';
  // It finished meanwhile (the stopped attempt recorded its outcome after all): that stands.
  return (await readExecution(deps, orgId, executionId))?.status ?? 'unknown';
}
