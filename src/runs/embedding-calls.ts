import { uuidv7 } from '../db/index.js';
import type { RunsDeps } from './deps.js';
import { ingestBatch } from './ingest-service.js';
import { RESERVED_CLIENT_ID_PREFIX } from './reserved-client-ids.js';

/** A call to a priced embedding model made for an agent outside a run (memory saves and searches over the API). */
export interface EmbeddingCallRecord {
  orgId: string;
  agentId: string;
  model: string;
  tokens: number;
  texts: number;
  startedAt: Date;
  endedAt: Date;
}

/**
 * Records the call as an execution of the agent holding one llm_call span
 * (provider openai, the embedder's API; usageType embedding), so its tokens
 * are priced from the price table into the cost ledger like any model call
 * and show in /v1/costs by agent, model and day. Its clientIds are in the
 * runtime's reserved namespace (run:embed:…): no ingest caller can forge or
 * amend them.
 */
export async function recordEmbeddingCall(deps: RunsDeps, c: EmbeddingCallRecord): Promise<void> {
  const clientId = `${RESERVED_CLIENT_ID_PREFIX}embed:${uuidv7()}`;
  const startedAt = c.startedAt.toISOString();
  const endedAt = c.endedAt.toISOString();
  const durationMs = Math.max(0, c.endedAt.getTime() - c.startedAt.getTime());
  const r = await ingestBatch(
    deps,
    { orgId: c.orgId, actorType: 'system', userId: null },
    {
      executions: [{
        clientId, agentId: c.agentId, modelProvider: 'openai', modelName: c.model, status: 'completed',
        startedAt, completedAt: endedAt, latencyMs: durationMs, metadata: { kind: 'embedding', texts: c.texts },
      }],
      spans: [{
        clientId: `${clientId}/embed`, executionClientId: clientId, kind: 'llm_call', name: 'embeddings', model: c.model, provider: 'openai',
        promptTokens: c.tokens, totalTokens: c.tokens, usageType: 'embedding', startedAt, endedAt, durationMs, attributes: { texts: c.texts },
      }],
    },
    { allowReservedClientIds: true, telemetry: false, sessionIdsResolved: true },
  );
  const bad = r.results.find((x) => x.status === 'rejected');
  if (bad) throw new Error(`the embedding call's ${bad.kind} was refused by ingestion: ${bad.error}`);
}
