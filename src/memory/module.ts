import type { MemoryDeps } from './deps.js';

/**
 * The memory module as the rest of the service sees it: made once per
 * service (createMemory), shared by the routes, the runtime's memory tools and
 * the job handlers.
 */
export interface MemoryModule extends MemoryDeps {
  close(): Promise<void>;
}

export function createMemory(deps: MemoryDeps): MemoryModule {
  return {
    ...deps,
    async close() {},
  };
}
