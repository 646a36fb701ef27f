/**
 * The event outbox: any module records what happened (an execution
 * completed, a plan got a new version) inside the transaction that made the
 * change, and webhook endpoints subscribed to it get it delivered once that
 * transaction commits. It imports only db and jobs, so every module can use it
 * without cycles; the delivery itself is the platform module's (webhooks).
 *
 * Terminology:
 * - event:        something that happened in an organization: a type from the
 *                 catalogue and its data. Its id (UUIDv7) is the Standard
 *                 Webhooks `webhook-id`, the same on every attempt.
 * - catalogue:    every event type with the zod schema of its data (catalogue.ts).
 * - subscription: the types or patterns an endpoint listens to: a type,
 *                 'prefix.*' (execution.*), or '*'.
 * - outbox:       the event row plus one delivery job per subscribed endpoint,
 *                 written in the emitter's transaction (the job queue is
 *                 transactional), so an event is delivered iff its change commits.
 *                 Nothing is written when no enabled endpoint subscribes.
 */
export {
  EVENT_CATALOGUE, EVENT_TYPES, isEventPattern, isEventType, patternsFor, subscribes, type EventData, type EventType,
} from './catalogue.js';
export {
  emitEvent, emitEventOnce, emitEventTo, emitEvents, deliveryJob, WEBHOOK_DELIVER_TASK, WEBHOOK_QUEUE,
  type DeliveryJobPayload, type DeliveryTrigger, type Emitted, type EventInput,
} from './emit.js';
