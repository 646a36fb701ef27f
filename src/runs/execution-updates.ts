import type { Sql } from '../db/index.js';
import * as repo from './execution-update-repo.js';
import type { UpdatableColumn } from './execution-update-repo.js';
import type { ExecutionItem } from './ingest-schemas.js';
import type { ItemErrorCode } from './ingest-types.js';
import { canTransition, type ExecutionStatus } from './status.js';

/**
 * An execution item whose clientId was ingested before updates the stored
 * execution: the fields the item holds replace the stored ones (metadata is
 * merged, tags replaced), so a client can send `running` first and `completed` with its
 * output later. createdAt never changes (it places the row in its partition).
 */

/** Item field → column, for the fields an update may carry (agentId/agentSlug resolve to agent_id). */
const FIELD_COLUMNS: Partial<Record<keyof ExecutionItem, UpdatableColumn>> = {
  agentVersionId: 'agent_version_id', userId: 'user_id', sessionId: 'session_id',
  parentExecutionId: 'parent_execution_id', planId: 'plan_id', modelProvider: 'model_provider', modelName: 'model_name',
  input: 'input', output: 'output', status: 'status', errorCode: 'error_code', errorMessage: 'error_message',
  retryCount: 'retry_count', maxRetries: 'max_retries', queueTimeMs: 'queue_time_ms',
  executionTimeMs: 'execution_time_ms', latencyMs: 'latency_ms', startedAt: 'started_at', completedAt: 'completed_at',
  promptTokens: 'prompt_tokens', completionTokens: 'completion_tokens', cachedTokens: 'cached_tokens',
  cacheWriteTokens: 'cache_write_tokens', reasoningTokens: 'reasoning_tokens', totalTokens: 'total_tokens',
  costUsd: 'cost_usd', resultQualityScore: 'result_quality_score', userSatisfactionScore: 'user_satisfaction_score',
  toolCalls: 'tool_calls', traceId: 'trace_id', spanId: 'span_id', parentSpanId: 'parent_span_id',
  correlationId: 'correlation_id', requestId: 'request_id', metadata: 'metadata', tags: 'tags',
};

export interface UpdateCandidate {
  /** the stored execution */
  id: string;
  createdAt: string;
  item: ExecutionItem;
  /** the item as sent: a field counts as given only when the client sent it (defaults do not overwrite) */
  raw: Record<string, unknown>;
  /** the resolved agent, undefined when the item names none or it could not be resolved */
  agentId: string | undefined;
}

export type UpdateOutcome =
  | { status: 'duplicate' }
  /** from: the status before the update; agentId: the execution's agent after it */
  | { status: 'updated'; from: ExecutionStatus; agentId: string | null }
  | { status: 'rejected'; code: ItemErrorCode; error: string; field?: string };

/**
 * versionAgent: the agent of every agentVersionId the batch names (resolved
 * with its other references), so an update that names a version is checked
 * against the agent the execution has, stored or updated.
 */
export async function applyExecutionUpdates(
  sql: Sql,
  candidates: UpdateCandidate[],
  versionAgent: ReadonlyMap<string, string>,
): Promise<Map<string, UpdateOutcome>> {
  const out = new Map<string, UpdateOutcome>();
  const patches: { c: UpdateCandidate; patch: Partial<Record<UpdatableColumn, unknown>> }[] = [];
  for (const c of candidates) {
    const patch: Partial<Record<UpdatableColumn, unknown>> = {};
    for (const [field, column] of Object.entries(FIELD_COLUMNS) as [keyof ExecutionItem, UpdatableColumn][]) {
      if (field in c.raw && c.item[field] !== undefined) patch[column] = c.item[field];
    }
    if (c.agentId) patch.agent_id = c.agentId;
    if (Object.keys(patch).length) patches.push({ c, patch });
    else out.set(c.id, { status: 'duplicate' });
  }
  if (!patches.length) return out;

  const stored = await repo.lockExecutions(sql, patches.map(({ c }) => ({ id: c.id, createdAt: c.createdAt })));
  const valid = patches.filter(({ c, patch }) => {
    const s = stored.get(c.id);
    if (!s) {
      out.set(c.id, { status: 'rejected', code: 'outside_retention', error: 'the execution this clientId names is no longer stored (past retention)' });
      return false;
    }
    const to = patch.status as ExecutionStatus | undefined;
    if (to && !canTransition(s.status as ExecutionStatus, to)) {
      out.set(c.id, { status: 'rejected', code: 'invalid_transition', error: `status: an execution cannot go from ${s.status} to ${to}` });
      return false;
    }
    const version = (patch.agent_version_id as string | undefined)?.toLowerCase();
    const agent = (patch.agent_id as string | undefined) ?? s.agentId;
    if (version && agent && versionAgent.get(version) !== agent) {
      out.set(c.id, {
        status: 'rejected', code: 'unknown_reference', field: 'agentVersionId',
        error: `agentVersionId: ${version} is not a version of agent ${agent}`,
      });
      return false;
    }
    const started = (patch.started_at as string | undefined) ?? s.startedAt?.toISOString();
    const completed = (patch.completed_at as string | undefined) ?? s.completedAt?.toISOString();
    if (started && completed && Date.parse(completed) < Date.parse(started)) {
      out.set(c.id, { status: 'rejected', code: 'invalid', error: 'completedAt must not be before startedAt (as stored or as sent)' });
      return false;
    }
    return true;
  });
  const changed = await repo.updateExecutions(sql, valid.map(({ c, patch }) => ({ id: c.id, createdAt: c.createdAt, patch })));
  for (const { c, patch } of valid) {
    const s = stored.get(c.id)!;
    out.set(c.id, changed.has(c.id)
      ? { status: 'updated', from: s.status as ExecutionStatus, agentId: (patch.agent_id as string | undefined) ?? s.agentId ?? null }
      : { status: 'duplicate' });
  }
  return out;
}
