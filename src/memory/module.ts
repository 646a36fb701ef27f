import type { MemoryDeps } from './deps.js';
import { createEmbedder } from './embedders/create.js';
import type { Embedder } from './embedders/types.js';

/**
 * The memory module as the rest of the service sees it: made once per
 * service (createMemory), shared by the routes, the runtime's memory tools and
 * the job handlers.
 */
export interface MemoryModule extends MemoryDeps {
  /**
   * The embedder memories of this agent (or, with no agent, the org's
   * knowledge) are embedded with: the agent's memory config, else the org's,
   * else the service default. null: text only (no vectors here, or `none`).
   */
  embedderFor(orgId: string, agentId?: string | null): Promise<Embedder | null>;
  close(): Promise<void>;
}

export function createMemory(deps: MemoryDeps): MemoryModule {
  const m: MemoryModule = {
    ...deps,
    async embedderFor(orgId) {
      if (!deps.vectors) return null;
      return createEmbedder({ embedder: deps.config.defaultEmbedder }, { orgId });
    },
    async close() {},
  };
  return m;
}
