import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { validationFailed } from '../../errors.js';
import { principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { RunsDeps } from '../deps.js';
import { AgentRef } from '../../agents/index.js';
import { MetadataObject, Uuid } from '../json.js';
import * as metrics from '../metrics-service.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const MetricType = z.string().regex(/^[a-z][a-z0-9_.]{0,49}$/, 'must be 1 to 50 characters: a lower-case letter, then lower-case letters, digits, _ or .');
// numeric(10,4): six integer digits. 999999.99995 would round up to 1000000.0000, which no longer fits.
const MetricValue = z.number().refine(
  (v) => Math.abs(v) < 999_999.99995,
  'must be greater than -1000000 and less than 1000000 (stored as numeric(10,4): 4 decimal places)',
);
const Cursor = z.object({ recordedAt: z.iso.datetime({ offset: true }), id: Uuid });

const MetricItem = z.strictObject({
  type: MetricType.describe('such as latency_ms or tokens.prompt'),
  value: MetricValue,
  recordedAt: Instant.optional().describe('defaults to now; within the last 90 days and at most 7 days ahead'),
  metadata: MetadataObject.optional(),
});

const params = z.strictObject({ agentId: AgentRef });

export function metricRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:agentId/metrics', {
      config: { permission: 'executions:write' },
      schema: {
        tags: ['metrics'],
        summary: `Record metric points of an agent (1 to ${metrics.MAX_METRICS_PER_REQUEST}); all are stored or, on any bad point, none`,
        params,
        body: z.strictObject({ metrics: z.array(MetricItem).min(1).max(metrics.MAX_METRICS_PER_REQUEST) }),
      },
    }, async (req, reply) => {
      const res = await metrics.recordMetrics(deps, principal(req).orgId, req.params.agentId, req.body.metrics);
      return reply.status(201).send(res);
    });

    r.get('/v1/agents/:agentId/metrics', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['metrics'],
        summary: 'Metric points of an agent, newest first (default: the last 24 hours); with interval, count/avg/min/max per type '
          + `and UTC hour or day (default: the last 7 days, at most ${metrics.MAX_SERIES_BUCKETS} buckets)`,
        params,
        querystring: z.strictObject({
          type: MetricType.optional(),
          from: Instant.optional().describe('recorded at or after'),
          to: Instant.optional().describe('recorded before (default: now)'),
          interval: z.enum(metrics.METRIC_INTERVALS).optional().describe('aggregate into buckets of this size instead of listing points'),
          ...pageQuery,
        }),
      },
    }, async (req) => {
      const q = req.query;
      const orgId = principal(req).orgId;
      if (q.interval) {
        if (q.cursor !== undefined) {
          throw validationFailed('query.cursor: a series is not paged; drop cursor or interval', [
            { path: 'query.cursor', message: 'a series is not paged; drop cursor or interval' },
          ]);
        }
        const s = await metrics.metricSeries(deps, orgId, req.params.agentId, { type: q.type, from: q.from, to: q.to, interval: q.interval });
        return { interval: q.interval, from: s.from, to: s.to, data: s.data, truncated: s.truncated };
      }
      const after = decodeCursor(q.cursor, Cursor);
      const { rows } = await metrics.listMetrics(deps, orgId, req.params.agentId, {
        type: q.type, from: q.from, to: q.to, after, limit: q.limit + 1,
      });
      return page(rows, q.limit, (m) => ({ recordedAt: new Date(m.recordedAt).toISOString(), id: m.id }));
    });
  };
}
