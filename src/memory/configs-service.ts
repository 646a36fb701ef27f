import { requireAgent } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import { badRequest } from '../errors.js';
import { configRows, putConfig, type MemoryConfigFields, type MemoryConfigRow } from './configs-repo.js';
import { effectiveConfig, type EffectiveMemoryConfig } from './effective-config.js';
import type { MemoryModule } from './module.js';

export interface MemoryConfigView {
  /** the stored row of this level (org, or the agent's override); null when none was ever set */
  stored: MemoryConfigRow | null;
  /** what applies after layering agent → org → service defaults */
  effective: EffectiveMemoryConfig;
  /** whether this database can search by vector (pgvector) */
  vectors: boolean;
}

async function view(m: MemoryModule, agentId: string | null, rows: MemoryConfigRow[]): Promise<MemoryConfigView> {
  return {
    stored: rows.find((r) => r.agentId === agentId) ?? null,
    effective: effectiveConfig(m.config, rows),
    vectors: m.vectors,
  };
}

export async function getMemoryConfig(m: MemoryModule, orgId: string, agentRef: string | null): Promise<MemoryConfigView> {
  return m.db.tenant(orgId, async (sql) => {
    const agentId = agentRef ? (await requireAgent(sql, agentRef)).id : null;
    return view(m, agentId, await configRows(sql, orgId, agentId));
  });
}

/** The embedder fields must describe one embedder a call can be made with. */
function checkEmbedder(f: MemoryConfigFields): void {
  if (f.embedder === 'openai' && !f.embeddingDims) {
    throw badRequest('an openai embedder needs embeddingDims (the vector length the model returns, e.g. 1536 for text-embedding-3-small)', { field: 'embeddingDims' });
  }
  if (f.embedder !== 'openai' && (f.baseUrl || f.secretName || f.embeddingModel)) {
    throw badRequest('baseUrl, secretName and embeddingModel apply to the openai embedder only', { field: 'embedder' });
  }
  if (f.embedder === 'bundled' && f.embeddingDims && f.embeddingDims !== 512) {
    throw badRequest('the bundled model makes 512-dimensional vectors; leave embeddingDims out', { field: 'embeddingDims' });
  }
  if (f.embedder === null && (f.embeddingDims || f.baseUrl || f.secretName || f.embeddingModel)) {
    throw badRequest('embedder fields need an embedder', { field: 'embedder' });
  }
}

/**
 * Replaces the org's or an agent's memory settings (fields left out inherit).
 * A different embedder starts a new space: memories already stored stay in
 * theirs, found by text only until re-embedded (POST …/memories/reembed).
 */
export async function putMemoryConfig(m: MemoryModule, actor: Actor, agentRef: string | null, f: MemoryConfigFields): Promise<MemoryConfigView> {
  checkEmbedder(f);
  const out = await m.db.tenant(actor.orgId, async (sql) => {
    const agentId = agentRef ? (await requireAgent(sql, agentRef, 'update')).id : null;
    const before = (await configRows(sql, actor.orgId, agentId)).find((r) => r.agentId === agentId) ?? null;
    const after = await putConfig(sql, actor.orgId, agentId, f);
    await appendAudit(sql, actor, {
      action: 'memory.config_changed', resourceType: 'memory_config', resourceId: agentId, agentId, oldValues: before, newValues: after,
    });
    return view(m, agentId, await configRows(sql, actor.orgId, agentId));
  });
  m.invalidate(actor.orgId);
  return out;
}
