import type { FastifyInstance } from 'fastify';
import { ingestAb, type AbContext } from './ingest-ab.js';

/**
 * What webhooks cost ingestion (issue 14): every ingested execution ends
 * `completed`, so with an endpoint subscribed to `execution.*` each batch
 * writes one webhook_events row and one delivery job per execution, in the
 * batch's transaction (the outbox). The baseline is the same organization with
 * that endpoint switched off, where emitting is one indexed lookup per batch.
 * No worker runs: this is the write cost, not delivery (bench/webhooks-bench.ts).
 * `npm run bench -- ingest-webhooks`; environment in ingest-ab.ts.
 */
let endpoint: { id: string } | undefined;

async function req(app: FastifyInstance, ctx: AbContext, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  const r = await app.inject({ method, url, headers: { authorization: ctx.authorization }, ...(payload ? { payload } : {}) });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json() as { id: string; version: number; isActive: boolean };
}

export const ingestWebhooksBench = () => ingestAb({
  name: 'ingest-webhooks',
  title: 'Ingestion with a webhook endpoint subscribed',
  baseline: 'no endpoint subscribed (one lookup per batch)',
  variant: 'an endpoint subscribed to execution.* (an event and a delivery job per execution)',
  goalOf: 'issue 14: events are written with the batch',
  goal: 0.8,
  async setup(app, ctx) {
    // A host name, not an address: it is only resolved at delivery, and nothing delivers here.
    endpoint = await req(app, ctx, 'POST', '/v1/webhooks', { url: 'https://hooks.example.com/agentbase', events: ['execution.*'] });
  },
  async beforeRun(app, ctx, variant) {
    const now = await req(app, ctx, 'GET', `/v1/webhooks/${endpoint!.id}`);
    if (now.isActive !== variant) await req(app, ctx, 'PATCH', `/v1/webhooks/${endpoint!.id}`, { version: now.version, isActive: variant });
  },
  fields: () => ({}),
});
