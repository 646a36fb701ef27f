import { requireAgent } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import { AppError } from '../errors.js';
import { enqueueIn, type JobHandler } from '../jobs/index.js';
import { VECTOR_UNAVAILABLE_HINT } from './capability.js';
import { embedTexts } from './memories-service.js';
import type { MemoryModule } from './module.js';
import { memoriesOutsideSpace, setEmbeddings, spaceProgress, type SpaceProgress } from './reembed-repo.js';
import { spaceOf, type Space } from './space.js';

/**
 * Re-embedding: after an agent's embedder changes, its memories are moved
 * into the new space by a job on the job queue. One job embeds up to
 * CHUNKS_PER_JOB chunks, then queues its continuation, so a long
 * re-embedding never holds one lease for long and survives restarts.
 * Progress is read from the table itself (how many live memories are in the
 * space), so it is true whatever the job's state.
 */
export const REEMBED_TASK = 'memory.reembed';
const QUEUE = 'memory';
const CHUNK = 64;
const CHUNKS_PER_JOB = 20;

interface Payload { agentId: string; model: string; dims: number; seq: number }

export interface ReembedStatus extends SpaceProgress {
  embeddingModel: string;
  embeddingDims: number;
  jobId?: string;
}

async function targetSpace(m: MemoryModule, orgId: string, agentId: string): Promise<Space> {
  const e = await m.embedderFor(orgId, agentId);
  if (!e) throw new AppError(409, 'vector_unavailable', m.vectors ? 'this agent has no embedder (embedder "none"); configure one first' : VECTOR_UNAVAILABLE_HINT);
  return spaceOf(e);
}

export async function reembedStatus(m: MemoryModule, orgId: string, agentRef: string): Promise<ReembedStatus> {
  const agent = await m.db.tenant(orgId, (sql) => requireAgent(sql, agentRef));
  const space = await targetSpace(m, orgId, agent.id);
  const p = await m.db.tenant(orgId, (sql) => spaceProgress(sql, orgId, agent.id, space));
  return { embeddingModel: space.model, embeddingDims: space.dims, ...p };
}

export async function startReembed(m: MemoryModule, actor: Actor, agentRef: string): Promise<ReembedStatus> {
  const agent = await m.db.tenant(actor.orgId, (sql) => requireAgent(sql, agentRef));
  const space = await targetSpace(m, actor.orgId, agent.id);
  await m.ensureSpace('agent_memories', space);
  return m.db.tenant(actor.orgId, async (sql) => {
    const p = await spaceProgress(sql, actor.orgId, agent.id, space);
    const payload: Payload = { agentId: agent.id, model: space.model, dims: space.dims, seq: 0 };
    const { job } = await enqueueIn(sql, { queue: QUEUE, task: REEMBED_TASK, payload, maxAttempts: 5 });
    await appendAudit(sql, actor, {
      action: 'memory.reembed_started', resourceType: 'agent', resourceId: agent.id, agentId: agent.id,
      newValues: { embeddingModel: space.model, embeddingDims: space.dims, jobId: job.id, remaining: p.remaining },
    });
    return { embeddingModel: space.model, embeddingDims: space.dims, ...p, jobId: job.id };
  });
}

export function reembedHandler(m: MemoryModule): JobHandler {
  return async (job, ctx) => {
    const p = job.payload as Payload;
    const orgId = job.orgId;
    const current = await m.embedderFor(orgId, p.agentId);
    // The embedder changed again since this job was queued: the newer job owns the work.
    if (!current || current.model !== p.model || current.dims !== p.dims) return { stopped: 'the agent now uses another embedder' };
    const space = spaceOf(current);
    let moved = 0;
    for (let i = 0; i < CHUNKS_PER_JOB; i++) {
      if (ctx.signal.aborted) throw new Error('lease lost');
      const rows = await m.db.tenant(orgId, (sql) => memoriesOutsideSpace(sql, orgId, p.agentId, space, CHUNK));
      if (rows.length === 0) return { moved, remaining: 0 };
      const { vectors } = await embedTexts(current, rows.map((r) => r.content));
      moved += await m.db.tenant(orgId, (sql) => setEmbeddings(sql, orgId, space, rows.map((r, n) => ({ id: r.id, vector: vectors[n]! }))));
    }
    const next: Payload = { ...p, seq: p.seq + 1 };
    await m.db.tenant(orgId, (sql) =>
      enqueueIn(sql, { queue: QUEUE, task: REEMBED_TASK, payload: next, maxAttempts: 5, idempotencyKey: `${job.id}:next` }));
    return { moved, continued: true };
  };
}

export function memoryJobHandlers(m: MemoryModule): Record<string, JobHandler> {
  return { [REEMBED_TASK]: reembedHandler(m) };
}
