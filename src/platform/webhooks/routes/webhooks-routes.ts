import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EVENT_CATALOGUE, EVENT_TYPES } from '../../../events/index.js';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { WebhooksDeps } from '../deps.js';
import * as webhooks from '../webhooks-service.js';
import {
  Cursor, DeliveriesQuery, DeliveryParams, EventBody, EventParams, EventTypeInfo, IdParams, NewWebhookBody, TypeParams, WebhookPatchBody,
} from './webhook-schemas.js';

const tags = ['webhooks'];
const cursorOf = (x: { createdAt: Date | string; id: string }) => ({ createdAt: new Date(x.createdAt).toISOString(), id: x.id });
// Computed once: the catalogue is fixed for the life of the process.
const EVENT_TYPE_LIST = EVENT_TYPES.map((type) => ({
  type, description: EVENT_CATALOGUE[type].description, schema: z.toJSONSchema(EVENT_CATALOGUE[type].data) as Record<string, unknown>,
}));

export function webhooksRoutes(deps: WebhooksDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/webhooks/event-types', {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: 'The event catalogue: every type an endpoint can subscribe to, with the JSON Schema of its data',
        response: { 200: z.object({ data: z.array(EventTypeInfo) }) },
      },
    }, async () => ({ data: EVENT_TYPE_LIST }));

    r.get('/v1/webhooks/event-types/:type/example', {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: 'An example body of one event type, exactly as it is POSTed (the response schema documents every type)',
        params: TypeParams,
        response: { 200: EventBody },
      },
    }, async (req) => ({ type: req.params.type, timestamp: new Date().toISOString(), data: EVENT_CATALOGUE[req.params.type].example }));

    r.post('/v1/webhooks', {
      config: { permission: 'webhooks:write' },
      schema: {
        tags,
        summary: 'Create an endpoint; the answer holds its signing secret (whsec_…), shown this once',
        body: NewWebhookBody,
      },
    }, async (req, reply) => reply.status(201).send(await webhooks.createWebhook(deps, actor(req), req.body)));

    r.get('/v1/webhooks', {
      config: { permission: 'webhooks:read' },
      schema: { tags, summary: 'Endpoints of the organization, newest first (never their secrets)', querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const rows = await webhooks.listWebhooks(deps, principal(req).orgId, { before: decodeCursor(req.query.cursor, Cursor), limit: req.query.limit + 1 });
      return page(rows, req.query.limit, cursorOf);
    });

    r.get('/v1/webhooks/:id', {
      config: { permission: 'webhooks:read' },
      schema: { tags, summary: 'One endpoint: its subscription, state and delivery counts', params: IdParams },
    }, async (req) => webhooks.getWebhook(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/webhooks/:id', {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Change the URL, subscription or description, or disable/enable the endpoint', params: IdParams, body: WebhookPatchBody },
    }, async (req) => webhooks.updateWebhook(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/webhooks/:id', {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Delete an endpoint; nothing more is sent to it', params: IdParams },
    }, async (req, reply) => {
      await webhooks.deleteWebhook(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

    r.post('/v1/webhooks/:id/rotate-secret', {
      config: { permission: 'webhooks:write' },
      schema: {
        tags,
        summary: 'A new signing secret, shown this once; the previous one keeps signing too (two signatures) for 24 h',
        params: IdParams,
      },
    }, async (req) => webhooks.rotateSecret(deps, actor(req), req.params.id));

    r.post('/v1/webhooks/:id/test', {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Send a webhook.test event to this endpoint (whatever it subscribes to)', params: IdParams },
    }, async (req, reply) => reply.status(202).send(await webhooks.sendTest(deps, actor(req), req.params.id)));

    r.get('/v1/webhooks/:id/deliveries', {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: "An endpoint's delivery attempts, newest first: status, HTTP code, the answer's first KiB, duration, attempt, error",
        params: IdParams,
        querystring: z.strictObject({ ...pageQuery, ...DeliveriesQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await webhooks.listDeliveries(deps, principal(req).orgId, req.params.id, {
        status: q.status, eventId: q.eventId, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, cursorOf);
    });

    r.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: "Send a delivery's event to this endpoint again (same webhook-id), retried on the schedule", params: DeliveryParams },
    }, async (req, reply) => reply.status(202).send(await webhooks.redeliverDelivery(deps, actor(req), req.params.id, req.params.deliveryId)));

    r.post('/v1/webhooks/:id/events/:eventId/redeliver', {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Send an event to this endpoint again (same webhook-id), retried on the schedule', params: EventParams },
    }, async (req, reply) => reply.status(202).send(await webhooks.redeliverEvent(deps, actor(req), req.params.id, req.params.eventId)));
  };
}
