import { emitEvent } from '../../events/index.js';
import type { Sql } from '../../db/index.js';
import type { EvalRunRow } from './runs-repo.js';

/**
 * A finished run (completed, failed or cancelled) is announced as
 * eval.run.completed in the transaction that finishes it, so a subscriber
 * hears of it iff the totals it reads back are committed.
 */
export async function announceRunFinished(sql: Sql, orgId: string, run: EvalRunRow): Promise<void> {
  await emitEvent(sql, orgId, 'eval.run.completed', {
    evalRunId: run.id,
    suiteId: run.suiteId,
    status: run.status,
    agentId: run.agentId,
    agentVersion: run.agentVersion,
    totalTests: run.totalTests,
    passedTests: run.passedTests,
    failedTests: run.failedTests,
    errorTests: run.errorTests,
    averageScore: run.averageScore,
    passRate: run.passRate,
    costUsd: run.costUsd,
  });
}
