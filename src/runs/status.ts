import type { EXECUTION_STATUSES } from './ingest-schemas.js';

export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/**
 * Legal status changes of an execution. The trigger execution_status_transition
 * (migration 0006) enforces the same table in SQL; keep them equal. A failed or
 * timed-out execution may be queued again (a retry); the other final states are final.
 */
export const EXECUTION_TRANSITIONS: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  pending: ['queued', 'running', 'failed', 'cancelled'],
  queued: ['running', 'failed', 'timeout', 'cancelled'],
  running: ['completed', 'failed', 'timeout', 'cancelled'],
  completed: [],
  failed: ['queued'],
  timeout: ['queued'],
  cancelled: [],
};

export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return from === to || EXECUTION_TRANSITIONS[from].includes(to);
}

export type MessageStatus = 'sent' | 'delivered' | 'received' | 'processed' | 'failed' | 'timeout';

/**
 * The delivery lifecycle of an inter-agent message (seed 000). Steps may be
 * skipped (a message can be processed without a recorded receipt); a failed
 * or timed-out message may be sent again (a retry); processed is final.
 */
export const MESSAGE_TRANSITIONS: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  sent: ['delivered', 'received', 'processed', 'failed', 'timeout'],
  delivered: ['received', 'processed', 'failed', 'timeout'],
  received: ['processed', 'failed', 'timeout'],
  processed: [],
  failed: ['sent'],
  timeout: ['sent'],
};

export function canMessageTransition(from: MessageStatus, to: MessageStatus): boolean {
  return from === to || MESSAGE_TRANSITIONS[from].includes(to);
}
