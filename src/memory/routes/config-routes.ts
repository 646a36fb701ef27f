import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AgentRef } from '../../agents/index.js';
import { actor, principal } from '../../http/context.js';
import * as configs from '../configs-service.js';
import type { MemoryModule } from '../module.js';
import { MAX_DIMS } from '../space.js';

const ConfigBody = z.strictObject({
  embedder: z.enum(['bundled', 'openai', 'hashed', 'none']).nullable().default(null)
    .describe('bundled: the offline model in the package (512-d); openai: any OpenAI-compatible /embeddings; hashed: n-gram hashing (tests); none: text only; null: inherit'),
  embeddingModel: z.string().min(1).max(200).regex(/^[^\u0000-\u001f]+$/, 'no control characters').nullable().default(null),
  embeddingDims: z.number().int().min(1).max(MAX_DIMS).nullable().default(null),
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' }).max(2000).nullable().default(null),
  secretName: z.string().min(1).max(100).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a stored secret name such as OPENAI_API_KEY').nullable().default(null),
  recencyHalfLifeDays: z.number().positive().max(36_500).nullable().default(null),
  injectTokenBudget: z.number().int().min(0).max(100_000).nullable().default(null),
  extractAfterRun: z.boolean().nullable().default(null),
  dedupeThreshold: z.number().gt(0).max(1).nullable().default(null),
});

const TAG = ['memory'];

export function configRoutes(m: MemoryModule): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/v1/memory/config', {
      config: { permission: 'memory:read' },
      schema: { tags: TAG, summary: "The organization's memory settings (embedder, ranking, injection, extraction) and what is in effect" },
    }, async (req) => configs.getMemoryConfig(m, principal(req).orgId, null));
    r.put('/v1/memory/config', {
      config: { permission: 'memory:admin' },
      schema: { tags: TAG, summary: "Replace the organization's memory settings (null or absent fields use the service defaults)", body: ConfigBody },
    }, async (req) => configs.putMemoryConfig(m, actor(req), null, req.body));
    r.get('/v1/agents/:agentId/memory/config', {
      config: { permission: 'memory:read' },
      schema: { tags: TAG, summary: "An agent's memory settings override and what is in effect for it", params: z.strictObject({ agentId: AgentRef }) },
    }, async (req) => configs.getMemoryConfig(m, principal(req).orgId, req.params.agentId));
    r.put('/v1/agents/:agentId/memory/config', {
      config: { permission: 'memory:admin' },
      schema: {
        tags: TAG,
        summary: "Replace an agent's memory settings override (null or absent fields inherit the organization's)",
        params: z.strictObject({ agentId: AgentRef }),
        body: ConfigBody,
      },
    }, async (req) => configs.putMemoryConfig(m, actor(req), req.params.agentId, req.body));
  };
}
