import type { Sql } from '../db/index.js';
import * as repo from './message-update-repo.js';
import type { MessageUpdateColumn } from './message-update-repo.js';
import type { MessageItem } from './ingest-schemas.js';
import type { ItemErrorCode } from './ingest-types.js';
import { canMessageTransition, type MessageStatus } from './status.js';

/**
 * A message item whose clientId was ingested before moves the stored message
 * along its delivery lifecycle: the fields it carries (status, the delivery
 * times, the response, the error, the retry count) replace the stored ones.
 * What the message said (sender, receiver, type, data) never changes.
 */

const FIELD_COLUMNS: Partial<Record<keyof MessageItem, MessageUpdateColumn>> = {
  status: 'status', deliveredAt: 'delivered_at', receivedAt: 'received_at', processedAt: 'processed_at',
  responseData: 'response_data', responseTimeMs: 'response_time_ms', errorMessage: 'error_message', retryCount: 'retry_count',
};

export interface MessageUpdate {
  /** the stored message */
  id: string;
  item: MessageItem;
  /** the item as sent: only fields the client sent count (defaults do not overwrite) */
  raw: Record<string, unknown>;
}

export type MessageOutcome = { status: 'updated' | 'duplicate' } | { status: 'rejected'; code: ItemErrorCode; error: string };

export async function applyMessageUpdates(sql: Sql, updates: MessageUpdate[]): Promise<Map<string, MessageOutcome>> {
  const out = new Map<string, MessageOutcome>();
  const patches = updates.flatMap((u) => {
    const patch: Partial<Record<MessageUpdateColumn, unknown>> = {};
    for (const [field, col] of Object.entries(FIELD_COLUMNS) as [keyof MessageItem, MessageUpdateColumn][]) {
      if (field in u.raw && u.item[field] !== undefined) patch[col] = u.item[field];
    }
    if (Object.keys(patch).length) return [{ u, patch }];
    out.set(u.id, { status: 'duplicate' });
    return [];
  });
  const stored = await repo.lockMessages(sql, patches.map((p) => p.u.id));
  const valid = patches.filter(({ u, patch }) => {
    const from = stored.get(u.id);
    const to = patch.status as MessageStatus | undefined;
    if (!from) {
      out.set(u.id, { status: 'rejected', code: 'outside_retention', error: 'the message this clientId names is no longer stored' });
      return false;
    }
    if (to && !canMessageTransition(from, to)) {
      out.set(u.id, { status: 'rejected', code: 'invalid_transition', error: `status: a message cannot go from ${from} to ${to}` });
      return false;
    }
    return true;
  });
  const changed = await repo.updateMessages(sql, valid.map(({ u, patch }) => ({ id: u.id, patch })));
  for (const { u } of valid) out.set(u.id, { status: changed.has(u.id) ? 'updated' : 'duplicate' });
  return out;
}
