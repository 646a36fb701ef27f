import { uuidv7, type Sql } from '../../db/index.js';
import { deliveryJob } from '../../events/index.js';
import { enqueueManyIn } from '../../jobs/index.js';

/** A manual redelivery: its own chain of attempts (retried on the schedule like the first), same event and webhook-id. */
export async function enqueueRedelivery(sql: Sql, _orgId: string, webhookId: string, eventId: string): Promise<void> {
  await enqueueManyIn(sql, [deliveryJob({ eventId, webhookId, attempt: 1, trigger: 'manual', chain: uuidv7() })]);
}
