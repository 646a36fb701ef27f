import type { FastifyPluginAsync } from 'fastify';
import { WEBHOOK_DELIVER_TASK } from '../../events/index.js';
import type { JobHandler } from '../../jobs/index.js';
import { deliveryHandler } from './delivery.js';
import type { WebhooksDeps } from './deps.js';
import { webhooksRoutes as routes } from './routes/webhooks-routes.js';

/**
 * Webhooks (seed 002), sent as Standard Webhooks (https://www.standardwebhooks.com).
 *
 * Terminology:
 * - endpoint:   a URL of the organization's that events are POSTed to (a row of
 *               `webhooks`), with the event types it subscribes to.
 * - secret:     whsec_ + base64 of 32 random bytes, shown once at creation and
 *               rotation, stored sealed; it keys the HMAC-SHA256 signatures.
 * - rotation:   a new secret; the previous one keeps signing (both signatures
 *               are sent) for 24 h so receivers can switch without a gap.
 * - event:      see src/events; its id is the `webhook-id` header.
 * - attempt:    one POST of one event to one endpoint; each is a row of
 *               webhook_deliveries. 2xx is success; 410 disables the endpoint;
 *               anything else (or no answer in time) is retried on the schedule.
 * - chain:      the attempts of one event to one endpoint (the first delivery,
 *               or a manual redelivery, which starts a chain of its own).
 * - failing:    an endpoint whose attempts have all failed since failing_since;
 *               5 days of that disables it and tells the organization's admins.
 *
 * Guarantees: at least once (a receiver dedupes on webhook-id); no ordering
 * per endpoint (attempts run concurrently and retries interleave).
 */

export type { WebhooksDeps } from './deps.js';

export function webhooksRoutes(deps: WebhooksDeps): FastifyPluginAsync {
  return routes(deps);
}

/** The job handler that sends deliveries, by task, for the worker (src/server.ts). */
export function webhookJobHandlers(deps: WebhooksDeps): Record<string, JobHandler> {
  return { [WEBHOOK_DELIVER_TASK]: deliveryHandler(deps) };
}
