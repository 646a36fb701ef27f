import type { IngestKind } from './ingest-repo.js';

/**
 * clientIds the agent runtime gives its executions (run:<uuid>) and their
 * spans, messages (run:<uuid>/…). The runtime reads a queued run's input and
 * limits back from its execution, and prices its calls from its spans, so
 * nobody else may create, update or add spans to those items: an
 * executions:write caller could otherwise lift a run's limits or pre-claim
 * the clientIds of its llm spans (so their tokens and cost are never recorded).
 */
export const RESERVED_CLIENT_ID_PREFIX = 'run:';

export function reservedProblem(kind: IngestKind, item: { clientId: string; executionClientId?: string | undefined }): string | undefined {
  if (item.clientId.startsWith(RESERVED_CLIENT_ID_PREFIX)) {
    return `clientId: the prefix ${RESERVED_CLIENT_ID_PREFIX} is reserved for what the agent runtime records (POST /v1/agents/{id}/executions); use another clientId`;
  }
  if (kind === 'span' && item.executionClientId?.startsWith(RESERVED_CLIENT_ID_PREFIX)) {
    return `executionClientId: ${item.executionClientId} is an execution of the agent runtime, which records its spans itself; spans cannot be added to it`;
  }
  return undefined;
}
