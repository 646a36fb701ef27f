import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, badRequest } from '../../errors.js';
import { actor, held, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { WorkflowsDeps } from '../deps.js';
import { RUN_STATUSES } from '../runs-repo.js';
import * as service from '../runs-service.js';
import { EventName, IdParams, Instant, Json, JsonObject, StepKey, Text, Uuid } from './schemas.js';

const Cursor = z.object({ startedAt: z.iso.datetime({ offset: true }), id: Uuid });
const StepParams = z.strictObject({ id: Uuid, key: StepKey });
const Decision = z.strictObject({ comment: Text(2000).optional() }).nullish();

/**
 * Runs of workflows ("executions" in the API, like agent executions). Deciding
 * an approval needs only workflows:read from a signed-in user: the step's
 * approver list is what authorizes, so a viewer named as approver can decide
 * and a member who is not named cannot. An API key acts for the user who made
 * it, and a key scoped to read must not change anything: a key decides only
 * when it also holds workflows:write (and its user is an approver).
 */
export function runRoutes(deps: WorkflowsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/workflows/:id/executions', {
      config: { permission: 'workflows:write' },
      schema: {
        tags: ['workflows'],
        summary: "Start a run of an active workflow's current version; 202 with the run, which proceeds on the job queue",
        params: IdParams,
        body: z.strictObject({ input: JsonObject.optional().describe('the run input, read by mappings as $.input') }).nullish(),
      },
    }, async (req, reply) => reply.status(202).send(await service.startRun(deps, actor(req), req.params.id, req.body?.input ?? {})));

    r.get('/v1/workflow-executions', {
      config: { permission: 'workflows:read' },
      schema: {
        tags: ['workflows'],
        summary: 'Workflow runs, newest first, with filters',
        querystring: z.strictObject({
          workflowId: Uuid.optional(),
          status: z.enum(RUN_STATUSES).optional(),
          from: Instant.optional().describe('started at or after'),
          to: Instant.optional().describe('started before'),
          ...pageQuery,
        }),
      },
    }, async (req) => {
      const q = req.query;
      if (q.from && q.to && Date.parse(q.from) > Date.parse(q.to)) throw badRequest('from must not be after to', { field: 'from' });
      const before = decodeCursor(q.cursor, Cursor);
      const rows = await service.listRuns(deps, principal(req).orgId, {
        workflowId: q.workflowId, status: q.status, from: q.from, to: q.to, before, limit: q.limit + 1,
      });
      return page(rows, q.limit, (x) => ({ startedAt: new Date(x.startedAt).toISOString(), id: x.id }));
    });

    r.get('/v1/workflow-executions/:id', {
      config: { permission: 'workflows:read' },
      schema: { tags: ['workflows'], summary: 'One run with its step runs', params: IdParams },
    }, async (req) => service.getRun(deps, principal(req).orgId, req.params.id));

    r.post('/v1/workflow-executions/:id/cancel', {
      config: { permission: 'workflows:write' },
      schema: { tags: ['workflows'], summary: 'Cancel an unfinished run (409 otherwise); open steps are cancelled', params: IdParams },
    }, async (req) => service.cancelRun(deps, actor(req), req.params.id));

    r.post('/v1/workflow-executions/:id/events', {
      config: { permission: 'workflows:write' },
      schema: {
        tags: ['workflows'],
        summary: 'Post an event to a run: wait steps parked on it resume; one reached later finds it',
        params: IdParams,
        body: z.strictObject({ name: EventName, payload: Json.optional() }),
      },
    }, async (req) => service.postEvent(deps, actor(req), req.params.id, req.body));

    // Before the body is parsed, like the permission check of app.ts.
    const keysNeedWrite = async (req: FastifyRequest) => {
      if (principal(req).kind !== 'user' && !held(req).has('workflows:write')) {
        throw new AppError(403, 'forbidden', 'an API key decides approvals only with the workflows:write scope (a signed-in approver needs only workflows:read)', {
          permission: 'workflows:write',
        });
      }
    };
    const who = 'only its approvers, others 403; an API key also needs workflows:write';
    for (const [verb, approved] of [['approve', true], ['reject', false]] as const) {
      r.post(`/v1/workflow-executions/:id/steps/:key/${verb}`, {
        config: { permission: 'workflows:read' },
        onRequest: keysNeedWrite,
        schema: {
          tags: ['workflows'],
          summary: approved
            ? `Approve a waiting approval step (${who}); the run continues`
            : `Reject a waiting approval step (${who}); the run fails`,
          params: StepParams,
          body: Decision,
        },
      }, async (req) => service.decideApproval(deps, actor(req), req.params.id, req.params.key, { approved, comment: req.body?.comment }));
    }
  };
}
