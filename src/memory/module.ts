import type { Logger } from 'pino';
import { AccessBatcher } from './access-batcher.js';
import { configRows } from './configs-repo.js';
import type { MemoryDeps } from './deps.js';
import { effectiveConfig, type EffectiveMemoryConfig } from './effective-config.js';
import { metered } from './embedders/metered.js';
import { createEmbedder } from './embedders/create.js';
import type { Embedder } from './embedders/types.js';
import type { Space } from './space.js';

/**
 * The memory module as the rest of the service sees it: made once per
 * service (createMemory), shared by the routes, the runtime's memory tools and
 * the job handlers.
 */
export interface MemoryModule extends MemoryDeps {
  /** The agent's (or with none, the org's) settings: agent override, then org, then service defaults. */
  settingsFor(orgId: string, agentId?: string | null): Promise<EffectiveMemoryConfig>;
  /**
   * The embedder memories of this agent (or, with no agent, the org's
   * knowledge) are embedded with. null: text only (no vectors here, or `none`).
   */
  embedderFor(orgId: string, agentId?: string | null): Promise<Embedder | null>;
  /** Makes the HNSW index of a space before its first vector is written (owner role; once per process and space). */
  ensureSpace(table: 'agent_memories' | 'knowledge_items', space: Space): Promise<void>;
  /** Forgets cached settings (after a config change in this process). */
  invalidate(orgId: string): void;
  access: AccessBatcher;
  close(): Promise<void>;
}

// Settings are read on every memory call; another process's change shows within this long.
const SETTINGS_TTL_MS = 5000;

export function createMemory(deps: MemoryDeps & { log?: Pick<Logger, 'error'> }): MemoryModule {
  const settings = new Map<string, { at: number; value: Promise<EffectiveMemoryConfig> }>();
  const embedders = new Map<string, Embedder | null>();
  const spaces = new Map<string, Promise<void>>();
  const access = new AccessBatcher(deps.db, (err) => deps.log?.error({ err }, 'recording memory access failed'));

  const m: MemoryModule = {
    ...deps,
    access,
    settingsFor(orgId, agentId = null) {
      const key = `${orgId}/${agentId ?? ''}`;
      const hit = settings.get(key);
      if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.value;
      const value = deps.db.tenant(orgId, (sql) => configRows(sql, orgId, agentId)).then((rows) => effectiveConfig(deps.config, rows));
      settings.set(key, { at: Date.now(), value });
      value.catch(() => settings.delete(key));
      return value;
    },
    async embedderFor(orgId, agentId = null) {
      if (!deps.vectors) return null;
      const spec = (await m.settingsFor(orgId, agentId)).embedder;
      // An openai embedder opens the org's secret, so it is per org; the others are shared.
      const key = spec.embedder === 'openai' ? `${orgId}:${JSON.stringify(spec)}` : JSON.stringify(spec);
      if (!embedders.has(key)) {
        embedders.set(key, createEmbedder(spec, { orgId, ...(deps.egressFetch ? { egressFetch: deps.egressFetch } : {}), ...(deps.openSecret ? { openSecret: deps.openSecret } : {}) }));
      }
      const e = embedders.get(key)!;
      // A paid model's calls for an agent go to the cost ledger; the bundled and
      // hashed embedders cost nothing and are not recorded.
      const record = deps.recordEmbedding;
      if (!e || e.kind !== 'openai' || !record || !agentId) return e;
      return metered(e, (c) =>
        record({ orgId, agentId, model: e.model, ...c }).catch((err: unknown) => deps.log?.error({ err, orgId, agentId }, 'recording an embedding call failed')));
    },
    ensureSpace(table, space) {
      const key = `${table}/${space.model}/${space.dims}`;
      let p = spaces.get(key);
      if (!p) {
        p = deps.db.admin
          .query('SELECT memory_ensure_vector_index($1, $2, $3)', [table, space.model, space.dims])
          .then(() => undefined);
        spaces.set(key, p);
        p.catch(() => spaces.delete(key));
      }
      return p;
    },
    invalidate(orgId) {
      for (const k of settings.keys()) if (k.startsWith(`${orgId}/`)) settings.delete(k);
    },
    async close() {
      await access.flush();
    },
  };
  return m;
}
