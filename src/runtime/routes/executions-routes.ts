import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { actor } from '../../http/context.js';
import { jsonObject, METADATA_LIMITS, Tags, Text, Uuid } from '../../http/json-schemas.js';
import { AgentRef } from '../../agents/index.js';
import { getExecution } from '../../runs/index.js';
import type { RuntimeDeps } from '../deps.js';
import { EventStream } from '../event-stream.js';
import { cancelExecution } from '../run-cancel.js';
import { runsDeps } from '../run-recorder.js';
import { enqueueRun, runNow, type RunRequest, type RunResult } from '../run-service.js';

const InputMessage = z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content: Text(1_000_000) });

/** The key of execution metadata the runtime records the run's mode, limits, depth and version under. */
const RUNTIME_KEY = 'runtime';
/**
 * The caller's metadata, recorded beside the runtime's own key. The whole
 * must stay within what ingestion takes for metadata (64 KiB), so the
 * caller's part leaves the runtime 1 KiB (it writes a few hundred bytes).
 */
const RunMetadata = jsonObject({ ...METADATA_LIMITS, maxBytes: METADATA_LIMITS.maxBytes - 1024 })
  .refine((m) => !Object.hasOwn(m, RUNTIME_KEY), {
    message: `${RUNTIME_KEY} is the runtime's own key (the run's mode and limits); use another key`,
    path: [RUNTIME_KEY],
  });

const RunBody = z
  .strictObject({
    input: z
      .union([Text(1_000_000).min(1, 'must not be empty'), z.array(InputMessage).min(1).max(1000)], {
        error: 'must be a message (a non-empty string) or a list of {role, content} messages',
      })
      .describe('a user message, or messages with role system, user or assistant'),
    version: z.string().min(1).max(100).optional().describe('semver (1.2.0) or the version id; default: the agent\'s current version'),
    sessionToken: Text(255).min(1).optional().describe('your id of the conversation: the session is found, or created on first use'),
    sessionId: Uuid.optional().describe('an existing session (POST /v1/sessions)'),
    metadata: RunMetadata.optional()
      .describe('recorded on the execution (GET /v1/executions?metadata=key:value finds it); the key runtime is reserved'),
    tags: Tags.optional().describe('labels recorded on the execution and the runs it calls (GET /v1/executions?tag=…); at most 20'),
    planId: Uuid.optional().describe('the plan this run belongs to, recorded on the execution and the runs it calls'),
    limits: z
      .strictObject({
        maxSteps: z.number().int().min(1).max(1000).optional().describe('model calls of this execution'),
        maxTokens: z.number().int().min(1).max(1_000_000_000).optional().describe('tokens of the run and the agents it calls'),
        timeoutMs: z.number().int().min(1).max(86_400_000).optional().describe('wall clock of the run and the agents it calls'),
        maxCostUsd: z.number().positive().max(1_000_000).optional().describe('cost of the run and the agents it calls'),
      })
      .optional(),
    mode: z.enum(['sync', 'async', 'stream']).default('sync')
      .describe('sync: answer with the finished execution; stream: server-sent events; async: 202 with the execution id'),
  })
  .refine((b) => !(b.sessionToken && b.sessionId), { message: 'give sessionToken or sessionId, not both', path: ['sessionId'] });

/** A provider failure of a synchronous run: the execution is recorded as failed, and the request says so with 502. */
function providerError(r: RunResult): AppError | undefined {
  if (r.outcome.status === 'completed' || !r.outcome.provider || r.status !== 'failed') return undefined;
  return new AppError(502, 'provider_error', `${r.outcome.errorMessage} (execution ${r.executionId} is recorded as failed)`, {
    executionId: r.executionId,
    provider: r.outcome.provider,
  });
}

/** Starts a run: the one handler of /runs and its older name /executions. */
function startRun(deps: RuntimeDeps) {
  return async (req: FastifyRequest<{ Params: { id: string }; Body: z.output<typeof RunBody> }>, reply: FastifyReply) => {
    const a = actor(req);
    const b = req.body;
    const run: RunRequest = {
      agentId: req.params.id,
      version: b.version,
      input: b.input,
      session: b.sessionToken ? { token: b.sessionToken } : b.sessionId ? { id: b.sessionId } : undefined,
      limits: b.limits,
      mode: b.mode,
      requestId: req.id,
      labels: { planId: b.planId, tags: b.tags, metadata: b.metadata },
    };
    if (b.mode === 'async') {
      const q = await enqueueRun(deps, a, run);
      return reply.status(202).send({ executionId: q.executionId, jobId: q.jobId, status: 'queued' });
    }
    if (b.mode === 'sync') {
      const result = await runNow(deps, a, run);
      const err = providerError(result);
      if (err) throw err;
      return reply.send(await getExecution(runsDeps(deps), a.orgId, result.executionId));
    }

    // Streamed: anything refused before the execution exists is an ordinary JSON error;
    // from then on the answer is the event stream.
    let stream: EventStream | undefined;
    let result: RunResult;
    try {
      result = await runNow(deps, a, run, {
        onCreated: (executionId, agentId) => {
          void reply.hijack();
          stream = new EventStream(reply.raw, { 'x-request-id': req.id });
          stream.send('execution', { executionId, agentId, status: 'running' });
        },
        emit: (e) => stream?.send(e.type, e),
      });
    } catch (err) {
      if (!stream) throw err;
      req.log.error({ err }, 'streamed run failed');
      stream.send('error', { code: 'internal', message: 'the run failed inside the service; the request id identifies it in the server log' });
      stream.end();
      return reply;
    }
    const s = stream!;
    const execution = await getExecution(runsDeps(deps), a.orgId, result.executionId);
    if (result.outcome.status === 'completed' && result.status === 'completed') s.send('done', { execution });
    else {
      const o = result.outcome;
      const code = o.status === 'completed' ? result.status : providerError(result)?.code ?? o.errorCode;
      const message = o.status === 'completed' ? `the execution was ${result.status}` : o.errorMessage;
      s.send('error', { code, message, executionId: result.executionId, status: execution.status, execution });
    }
    s.end();
    return reply;
  };
}

const RUN_SUMMARY = 'Run an agent (by id or slug) on an input: sync, streamed as server-sent events, or queued';

export function executionRunRoutes(deps: RuntimeDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const params = z.strictObject({ id: AgentRef });
    const handler = startRun(deps);

    r.post('/v1/agents/:id/runs', {
      config: { permission: 'executions:write' },
      schema: { tags: ['executions'], summary: RUN_SUMMARY, params, body: RunBody },
    }, handler);

    // The first name of the route, kept for existing callers: the same schema and handler.
    r.post('/v1/agents/:id/executions', {
      config: { permission: 'executions:write' },
      schema: { tags: ['executions'], summary: `Alias of POST /v1/agents/{id}/runs. ${RUN_SUMMARY}`, params, body: RunBody },
    }, handler);

    r.post('/v1/executions/:id/cancel', {
      config: { permission: 'executions:write' },
      schema: {
        tags: ['executions'],
        summary: 'Cancel a queued or running execution (a finished one is 409)',
        params: z.strictObject({ id: Uuid }),
      },
    }, async (req) => cancelExecution(deps, actor(req), req.params.id));
  };
}
