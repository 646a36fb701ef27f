import type { RuntimeConfig } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Keys } from '../identity/index.js';
import type { MemoryModule } from '../memory/index.js';
import { registerRuntimeBuiltins } from './builtins/index.js';
import { RunningRuns } from './running-runs.js';
import type { IntegrationTokenFn } from './tools/http-tool.js';
import { ToolRegistry } from './tools/types.js';

/** Where the runtime reports what went wrong inside a run that nobody is waiting on (pino fits). */
export interface RuntimeLog {
  error(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface RuntimeDeps {
  db: Database;
  config: RuntimeConfig;
  /** secretBox opens stored secrets (model API keys, http tool headers) */
  keys: Pick<Keys, 'secretBox'>;
  /** built-in tools by name; modules register theirs at start-up */
  builtins: ToolRegistry;
  /** runs executing in this process (cancellation) */
  running: RunningRuns;
  /**
   * The memory module: with it, agents with memory enabled get memory_search
   * and memory_save, recall before the model call and extraction after the
   * run (run-memory.ts). Without it (a runtime made on its own) runs have no
   * memory beyond their session's history.
   */
  memory?: MemoryModule | undefined;
  log?: RuntimeLog | undefined;
  /**
   * A fresh access token of an organization's integration, for http tools
   * whose config has auth.integrationId (refreshed first when near expiry).
   * Wired at the composition root to platform's integrations; the runtime
   * does not import platform. Absent: such tools fail with a message.
   */
  integrationToken?: IntegrationTokenFn | undefined;
  /** the service clock (tests pin it) */
  now?: () => Date;
}

export interface RuntimeOptions {
  db: Database;
  config: RuntimeConfig;
  keys: Pick<Keys, 'secretBox'>;
  /** a registry other modules already registered into; a new one otherwise */
  builtins?: ToolRegistry;
  memory?: MemoryModule;
  log?: RuntimeLog;
  integrationToken?: IntegrationTokenFn;
}

/**
 * The runtime's dependencies with its own built-ins (call_agent, context_get,
 * context_set) registered. The same instance must serve the routes and the
 * job worker's agent.run handler for in-process cancellation to reach both.
 */
export function createRuntime(opts: RuntimeOptions): RuntimeDeps {
  const deps: RuntimeDeps = {
    db: opts.db,
    config: opts.config,
    keys: opts.keys,
    builtins: opts.builtins ?? new ToolRegistry(),
    running: new RunningRuns(),
    memory: opts.memory,
    log: opts.log,
    integrationToken: opts.integrationToken,
  };
  registerRuntimeBuiltins(deps.builtins, deps);
  return deps;
}

export const clock = (deps: RuntimeDeps): Date => deps.now?.() ?? new Date();
