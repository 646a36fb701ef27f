import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, held, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { EvalsDeps } from '../deps.js';
import { checkGate, promoteVersion } from '../gate-service.js';
import * as svc from '../runs-service.js';
import { CompareQuery, IdParams, PromoteBody, PromoteParams, RUN_STATUSES, StartRunBody, Uuid } from './schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });

export function runRoutes(deps: EvalsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/eval-suites/:id/runs', {
      config: { permission: 'evals:write' },
      schema: {
        tags: ['evals'],
        summary: 'Run every case of the suite against an agent version (default: the current one) on the job queue',
        params: IdParams,
        body: StartRunBody.nullish(),
      },
    }, async (req, reply) => reply.status(202).send(await svc.startRun(deps, actor(req), req.params.id, req.body ?? {})));

    r.get('/v1/eval-suites/:id/runs', {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Runs of a suite, newest first, with their totals',
        params: IdParams,
        querystring: z.strictObject({ ...pageQuery, status: z.enum(RUN_STATUSES).optional() }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await svc.listRuns(deps, principal(req).orgId, req.params.id, { status: q.status, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (x) => ({ createdAt: new Date(x.createdAt).toISOString(), id: x.id }));
    });

    r.get('/v1/eval-suites/:id/compare', {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Two runs of a suite case by case: regressions, improvements, score, cost and latency deltas (b minus a)',
        params: IdParams,
        querystring: CompareQuery,
      },
    }, async (req) => svc.compareRuns(deps, principal(req).orgId, req.params.id, req.query.runs));

    r.get('/v1/eval-runs/:id', {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'An eval run: status, progress (done/total), totals and the results so far', params: IdParams },
    }, async (req) => svc.getRun(deps, principal(req).orgId, req.params.id));

    r.post('/v1/eval-runs/:id/cancel', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Cancel a run: pending cases are not run; running ones finish and are counted', params: IdParams },
    }, async (req) => svc.cancelRun(deps, actor(req), req.params.id));

    r.get('/v1/agents/:id/versions/:version/gate', {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'How a version stands against the agent\'s eval suites (what promote would decide)', params: PromoteParams },
    }, async (req) => checkGate(deps, principal(req).orgId, req.params.id, req.params.version));

    r.post('/v1/agents/:id/versions/:version/promote', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['evals'],
        summary: 'Make a version the agent\'s current one if it passes the eval gate (409 eval_gate_failed otherwise; force needs evals:override)',
        params: PromoteParams,
        body: PromoteBody.nullish(),
      },
    }, async (req) => promoteVersion(deps, actor(req), req.params.id, req.params.version, req.body ?? { force: false }, held(req)));
  };
}
