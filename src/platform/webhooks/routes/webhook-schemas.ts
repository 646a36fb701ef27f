import { z } from 'zod';
import { Text, Uuid } from '../../../http/json-schemas.js';
import { EVENT_CATALOGUE, EVENT_TYPES, isEventPattern, type EventType } from '../../../events/index.js';

export const IdParams = z.strictObject({ id: Uuid });
export const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });

const EventPattern = z.string().max(100).refine(isEventPattern, {
  message: `must be an event type (${EVENT_TYPES.join(', ')}), a prefix of them followed by .* (execution.*), or *; see GET /v1/webhooks/event-types`,
});

export const Events = z.array(EventPattern).min(1, 'subscribe to at least one event type (or *)').max(50)
  .describe('event types or patterns: execution.completed, execution.*, *');

const Url = Text(2048).min(1).describe('http(s) URL the events are POSTed to');

export const NewWebhookBody = z.strictObject({
  url: Url,
  events: Events,
  description: Text(500).nullable().optional(),
});

export const WebhookPatchBody = z.strictObject({
  url: Url.optional(),
  events: Events.optional(),
  description: Text(500).nullable().optional(),
  isActive: z.boolean().optional().describe('false disables the endpoint; true enables it again and forgets its failures'),
  version: z.number().int().min(1).max(2_147_483_647).optional().describe('the version you read: a stale one is 409 version_conflict'),
}).refine((b) => Object.keys(b).some((k) => k !== 'version'), { message: 'send at least one of url, events, description, isActive' });

export const DeliveriesQuery = {
  status: z.enum(['success', 'failed']).optional(),
  eventId: Uuid.optional(),
};

export const DeliveryParams = z.strictObject({ id: Uuid, deliveryId: Uuid });
export const EventParams = z.strictObject({ id: Uuid, eventId: Uuid });
export const TypeParams = z.strictObject({ type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]) });

/** One event type as the catalogue route lists it. */
export const EventTypeInfo = z.object({
  type: z.string(),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()).describe("JSON Schema of the body's data"),
});

/**
 * The body of each event as delivered, one member per type: the route that
 * answers with an example uses it as its response schema, so every type's
 * data schema is in the OpenAPI document.
 */
export const EventBody = z.discriminatedUnion('type', EVENT_TYPES.map((t) => z.object({
  type: z.literal(t),
  timestamp: z.iso.datetime({ offset: true }).describe('when the event happened'),
  data: EVENT_CATALOGUE[t].data,
}).meta({ id: `WebhookEvent_${t.replaceAll('.', '_')}`, description: EVENT_CATALOGUE[t].description })) as unknown as [
  z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
]);
