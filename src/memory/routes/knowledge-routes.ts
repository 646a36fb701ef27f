import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as metrics from '../knowledge-metrics-service.js';
import * as search from '../knowledge-search-service.js';
import * as knowledge from '../knowledge-service.js';
import * as transfers from '../knowledge-transfers-service.js';
import type { MemoryModule } from '../module.js';
import {
  CreateBody, IdCursor, IdParams, ListQuery, MetricsQuery, PatchBody, SearchBody, TransferBody, TransferListQuery,
} from './knowledge-schemas.js';

const TAGS = ['knowledge'];

/** The items a search answered with, kept for its onResponse hook. */
const searchHits = new WeakMap<FastifyRequest, { orgId: string; ids: string[] }>();

/** What a search answers per item: the item, its score, and with explain the parts the score came from. */
function shown(hit: search.SearchHit, explain: boolean) {
  const { textRank, textScore, vectorRank, vectorDistance, textRanked: _ranked, ...item } = hit;
  return explain ? { ...item, explain: { textRank, textScore, vectorRank, vectorDistance } } : item;
}

/** Knowledge items, search, transfers and knowledge metrics. */
export function knowledgeRoutes(m: MemoryModule): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/knowledge', {
      config: { permission: 'memory:write' },
      schema: {
        tags: TAGS,
        summary: 'Add a knowledge item (domain, JSON content with a title); its title and description are embedded when the organization embeds',
        body: CreateBody,
      },
    }, async (req, reply) => reply.status(201).send(await knowledge.createItem(m, actor(req), req.body)));

    r.get('/v1/knowledge', {
      config: { permission: 'memory:read' },
      schema: {
        tags: TAGS,
        summary: 'Knowledge items, newest first, filtered by domain, tag, source agent and minimum confidence',
        querystring: z.strictObject({ ...ListQuery, ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, IdCursor);
      const rows = await knowledge.listItems(m, principal(req).orgId, {
        domain: q.domain, tag: q.tag, sourceAgentId: q.sourceAgentId, minConfidence: q.minConfidence, beforeId: after?.id, limit: q.limit + 1,
      });
      return page(rows, q.limit, (k) => ({ id: k.id }));
    });

    r.post('/v1/knowledge/search', {
      config: { permission: 'memory:read' },
      schema: {
        tags: TAGS,
        summary: 'Search knowledge best first: full text (web-search syntax), vectors, or both fused by reciprocal rank (the default); '
          + 'mode vector without vectors here is 409 vector_unavailable',
        body: SearchBody,
      },
      // Hits are counted after the answer is sent: a slow or failed count never holds up or fails a search.
      onResponse: async (req) => {
        const hits = searchHits.get(req);
        if (!hits) return;
        metrics.recordSearchHits(m, hits.orgId, hits.ids).catch((err: unknown) => req.log.warn({ err }, 'recording knowledge search hits failed'));
      },
    }, async (req) => {
      const orgId = principal(req).orgId;
      const { explain, ...input } = req.body;
      const res = await search.searchKnowledge(m, orgId, input);
      if (res.items.length) searchHits.set(req, { orgId, ids: res.items.map((i) => i.id) });
      return { mode: res.mode, space: res.space, partial: res.partial, items: res.items.map((h) => shown(h, explain)) };
    });

    r.get('/v1/knowledge/:id', {
      config: { permission: 'memory:read' },
      schema: { tags: TAGS, summary: 'One knowledge item (counted as a read in its metrics)', params: IdParams },
    }, async (req) => knowledge.readItem(m, principal(req).orgId, req.params.id));

    r.patch('/v1/knowledge/:id', {
      config: { permission: 'memory:write' },
      schema: {
        tags: TAGS,
        summary: 'Change a knowledge item; version must be the one you read (a stale one is 409 version_conflict naming the current one)',
        params: IdParams,
        body: PatchBody,
      },
    }, async (req) => knowledge.updateItem(m, actor(req), req.params.id, req.body));

    r.delete('/v1/knowledge/:id', {
      config: { permission: 'memory:write' },
      schema: { tags: TAGS, summary: 'Delete a knowledge item (soft: 404 everywhere afterwards, never found by search)', params: IdParams },
    }, async (req, reply) => {
      await knowledge.deleteItem(m, actor(req), req.params.id);
      return reply.status(204).send();
    });

    r.post('/v1/knowledge/:id/transfers', {
      config: { permission: 'memory:write' },
      schema: {
        tags: TAGS,
        summary: "Transfer a knowledge item into another agent's memory. 201 either way: success false with errorMessage when the "
          + 'target cannot take it (its source agent, memory disabled, archived, or already holding it); unknown item or agent is 404',
        params: IdParams,
        body: TransferBody,
      },
    }, async (req, reply) => reply.status(201).send(await transfers.transferItem(m, actor(req), req.params.id, req.body)));

    r.get('/v1/knowledge/:id/transfers', {
      config: { permission: 'memory:read' },
      schema: { tags: TAGS, summary: 'Transfers of a knowledge item, newest first', params: IdParams, querystring: z.strictObject({ ...pageQuery }) },
    }, async (req) => {
      const after = decodeCursor(req.query.cursor, IdCursor);
      const rows = await transfers.listItemTransfers(m, principal(req).orgId, req.params.id, { beforeId: after?.id, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (t) => ({ id: t.id }));
    });

    r.get('/v1/knowledge-transfers', {
      config: { permission: 'memory:read' },
      schema: {
        tags: TAGS,
        summary: "The organization's knowledge transfers, newest first, by source or target agent (id or slug) and outcome",
        querystring: z.strictObject({ ...TransferListQuery, ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, IdCursor);
      const rows = await transfers.listTransfers(m, principal(req).orgId, {
        sourceAgentId: q.sourceAgentId, targetAgentId: q.targetAgentId, success: q.success, beforeId: after?.id, limit: q.limit + 1,
      });
      return page(rows, q.limit, (t) => ({ id: t.id }));
    });

    r.get('/v1/knowledge/:id/metrics', {
      config: { permission: 'memory:read' },
      schema: {
        tags: TAGS,
        summary: 'Reads, search hits and transfers of a knowledge item per UTC day (every day of the range, zeros included)',
        params: IdParams,
        querystring: MetricsQuery,
      },
    }, async (req) => metrics.dailyMetrics(m, principal(req).orgId, req.params.id, req.query));
  };
}
