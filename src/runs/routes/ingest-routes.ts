import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../../errors.js';
import { actor } from '../../http/context.js';
import type { RunsDeps } from '../deps.js';
import { admitIngest } from '../../usage/index.js';
import { ingestBatch } from '../ingest-service.js';
import { INGEST_BODY_LIMIT, IngestBody, MAX_BATCH_ITEMS } from '../ingest-schemas.js';

export function ingestRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/ingest/batch', {
      bodyLimit: INGEST_BODY_LIMIT,
      config: { permission: 'executions:write' },
      schema: {
        tags: ['ingestion'],
        summary: `Record executions, spans, decisions and messages (at most ${MAX_BATCH_ITEMS} items); each item is validated alone and answered per item`,
        body: IngestBody,
      },
    }, async (req) => {
      const b = req.body;
      const total = (b.executions?.length ?? 0) + (b.spans?.length ?? 0) + (b.decisions?.length ?? 0) + (b.messages?.length ?? 0);
      if (total > MAX_BATCH_ITEMS) {
        throw new AppError(413, 'payload_too_large', `a batch holds at most ${MAX_BATCH_ITEMS} items; this one has ${total}: split it`, {
          maxItems: MAX_BATCH_ITEMS,
          items: total,
        });
      }
      if (total === 0) throw new AppError(400, 'validation_failed', 'the batch is empty: send at least one of executions, spans, decisions, messages', { issues: [{ path: 'body', message: 'no items' }] });
      const who = actor(req);
      await admitIngest(deps.db, who.orgId, b.spans?.length ?? 0);
      return ingestBatch(deps, who, b);
    });
  };
}
