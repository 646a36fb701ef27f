import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { EvalsDeps } from '../deps.js';
import * as svc from '../suites-service.js';
import { CaseChangeBody, CaseParams, IdParams, NewCaseBody, NewSuiteBody, SuiteChangeBody, Uuid } from './schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const at = (d: Date) => new Date(d).toISOString();

export function suiteRoutes(deps: EvalsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/eval-suites', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Create an eval suite for an agent, with its pass threshold and gate', body: NewSuiteBody },
    }, async (req, reply) => reply.status(201).send(await svc.createSuite(deps, actor(req), req.body)));

    r.get('/v1/eval-suites', {
      config: { permission: 'evals:read' },
      schema: {
        tags: ['evals'],
        summary: 'Eval suites of the organization, newest first',
        querystring: z.strictObject({ ...pageQuery, agentId: Uuid.optional().describe('only this agent\'s suites') }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await svc.listSuites(deps, principal(req).orgId, { agentId: q.agentId, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (s) => ({ createdAt: at(s.createdAt), id: s.id }));
    });

    r.get('/v1/eval-suites/:id', {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'One eval suite', params: IdParams },
    }, async (req) => svc.getSuite(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/eval-suites/:id', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Change an eval suite (optimistic lock: send the version you read)', params: IdParams, body: SuiteChangeBody },
    }, async (req) => svc.updateSuite(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/eval-suites/:id', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Delete an eval suite (soft: its runs and results stay readable)', params: IdParams },
    }, async (req, reply) => {
      await svc.deleteSuite(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

    r.post('/v1/eval-suites/:id/cases', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Add a test case: input, expected output, scorer, rubric and pass threshold', params: IdParams, body: NewCaseBody },
    }, async (req, reply) => reply.status(201).send(await svc.createCase(deps, actor(req), req.params.id, req.body)));

    r.get('/v1/eval-suites/:id/cases', {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'Test cases of a suite, in the order runs run them', params: IdParams, querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const q = req.query;
      const rows = await svc.listCases(deps, principal(req).orgId, req.params.id, { after: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (c) => ({ createdAt: at(c.createdAt), id: c.id }));
    });

    r.get('/v1/eval-suites/:id/cases/:caseId', {
      config: { permission: 'evals:read' },
      schema: { tags: ['evals'], summary: 'One test case', params: CaseParams },
    }, async (req) => svc.getCase(deps, principal(req).orgId, req.params.id, req.params.caseId));

    r.patch('/v1/eval-suites/:id/cases/:caseId', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Change a test case (optimistic lock)', params: CaseParams, body: CaseChangeBody },
    }, async (req) => svc.updateCase(deps, actor(req), req.params.id, req.params.caseId, req.body));

    r.delete('/v1/eval-suites/:id/cases/:caseId', {
      config: { permission: 'evals:write' },
      schema: { tags: ['evals'], summary: 'Delete a test case (soft: past results keep it)', params: CaseParams },
    }, async (req, reply) => {
      await svc.deleteCase(deps, actor(req), req.params.id, req.params.caseId);
      return reply.status(204).send();
    });
  };
}
