import type { EventInput } from '../events/index.js';
import type { ExecutionItem } from './ingest-schemas.js';
import { RESERVED_CLIENT_ID_PREFIX } from './reserved-client-ids.js';
import type { ExecutionStatus } from './status.js';

/**
 * The events of a batch's executions that reached a final status in it:
 * execution.completed (completed), execution.failed (failed, timeout), and
 * for the runtime's own runs (their reserved run: clientIds) run.completed
 * for any end. An execution that was already in that status is no event.
 */

export interface Ended {
  id: string;
  agentId: string | null;
  item: ExecutionItem;
  /** the stored status before this batch; undefined for a new execution */
  from?: ExecutionStatus;
}

const FINAL = new Set<string>(['completed', 'failed', 'timeout', 'cancelled']);

export function executionEvents(list: readonly Ended[]): EventInput[] {
  const out: EventInput[] = [];
  for (const e of list) {
    const status = e.item.status;
    if (!FINAL.has(status) || e.from === status) continue;
    const errorCode = e.item.errorCode ?? null;
    const data = {
      executionId: e.id, agentId: e.agentId, clientId: e.item.clientId, status, errorCode, completedAt: e.item.completedAt ?? null,
    };
    if (status === 'completed') out.push({ type: 'execution.completed', data });
    else if (status === 'failed' || status === 'timeout') out.push({ type: 'execution.failed', data });
    if (e.item.clientId.startsWith(RESERVED_CLIENT_ID_PREFIX)) out.push({ type: 'run.completed', data: { executionId: e.id, agentId: e.agentId, status, errorCode } });
  }
  return out;
}
