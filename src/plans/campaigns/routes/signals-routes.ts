import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../../errors.js';
import { actor, principal } from '../../../http/context.js';
import { MetadataObject, Text } from '../../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { PlansDeps } from '../deps.js';
import * as signals from '../signals-service.js';
import { Instant, Label, NonBlank, Uuid } from './campaign-schemas.js';

const IMPACTS = ['low', 'medium', 'high'] as const;
const Cursor = z.object({ observedAt: z.iso.datetime({ offset: true }), id: Uuid });

const Signal = z.strictObject({
  source: Label(255).describe('Twitter, News, Industry Report, ...'),
  content: NonBlank(20_000),
  observedAt: Instant.describe(`when the signal was observed: within the last ${signals.SIGNAL_MAX_AGE_DAYS} days, at most ${signals.SIGNAL_MAX_AHEAD_DAYS} day ahead`),
  relevanceScore: z.number().min(0).max(1).describe('0..1'),
  category: Label(100),
  impact: z.enum(IMPACTS),
  serviceId: Uuid.nullable().optional().describe('a service of the catalog the signal is about'),
  metadata: MetadataObject.optional(),
});
const Batch = z.strictObject({
  signals: z.array(Signal).min(1).max(signals.SIGNAL_BATCH_MAX).describe(`1..${signals.SIGNAL_BATCH_MAX} signals, recorded all or nothing`),
});

/**
 * When neither shape fits, says what is wrong with the one the body meant (a
 * batch when it has `signals`, else one signal) instead of "Invalid input".
 */
function unionProblem(iss: { input?: unknown; errors?: unknown }): string | undefined {
  const batch = typeof iss.input === 'object' && iss.input !== null && 'signals' in iss.input;
  const first = (iss.errors as Array<Array<{ path?: PropertyKey[]; message?: string }>> | undefined)?.[batch ? 0 : 1]?.[0];
  if (!first?.message) return undefined;
  const at = (first.path ?? []).map(String).join('.');
  return at ? `${at}: ${first.message}` : first.message;
}

export function signalRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/market-signals', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: `Record one market signal, or a batch ({signals: [...]}, up to ${signals.SIGNAL_BATCH_MAX}, all or nothing)`,
        body: z.union([Batch, Signal], { error: unionProblem }),
      },
    }, async (req, reply) => {
      const b = req.body;
      if ('signals' in b) {
        const rows = await signals.recordSignals(deps, actor(req), b.signals, (i) => `body.signals.${i}`);
        return reply.status(201).send({ data: rows, count: rows.length });
      }
      const [row] = await signals.recordSignals(deps, actor(req), [b], () => 'body');
      return reply.status(201).send(row);
    });

    r.get('/v1/market-signals', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['campaigns'],
        summary: 'Market signals, newest observed first, with filters',
        querystring: z.strictObject({
          ...pageQuery,
          impact: z.enum(IMPACTS).optional(),
          category: Text(100).optional(),
          source: Text(255).optional(),
          since: Instant.optional().describe('observed at or after'),
          until: Instant.optional().describe('observed before'),
          minRelevance: z.coerce.number().min(0).max(1).optional().describe('relevance score at least this, 0..1'),
          serviceId: Uuid.optional(),
        }),
      },
    }, async (req) => {
      const { cursor, limit, ...f } = req.query;
      if (f.since && f.until && Date.parse(f.since) > Date.parse(f.until)) throw badRequest('since must not be after until', { field: 'since' });
      const rows = await signals.listSignals(deps, principal(req).orgId, { ...f, before: decodeCursor(cursor, Cursor), limit: limit + 1 });
      const p = page(rows, limit, (s) => ({ observedAt: s.cursorAt, id: s.id }));
      return { data: p.data.map(({ cursorAt: _, ...s }) => s), nextCursor: p.nextCursor };
    });
  };
}
