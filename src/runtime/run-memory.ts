/**
 * What memory a run has, decided once when it is prepared.
 *
 * An agent with memory enabled (agents.memory_enabled, frozen in its version)
 * on a service with the memory module gets:
 * - the tools memory_search and memory_save (builtins/memory-tools.ts),
 *   offered besides the tools its version names;
 * - before the model call, by its memory type (agents.memory_type):
 *     conversation  the session's recent turns (sessions-service.ts history)
 *     long_term     memories recalled for the user message (memory-recall.ts)
 *     hybrid        both;
 * - after a completed run, when the effective memory config has
 *   extractAfterRun, a memory.extract job (memory-extract-job.ts).
 *
 * An agent with memory off gets no memory tools, no recall and no extraction;
 * its session's turns are still sent, as they were before memory existed: a
 * session is the caller's conversation, and switching the agent's memory off
 * should not make it forget what was said a turn ago.
 */
import type { AgentRow, VersionRow } from '../agents/index.js';
import type { RuntimeDeps } from './deps.js';

export const AGENT_MEMORY_TYPES = ['conversation', 'long_term', 'hybrid'] as const;
export type AgentMemoryType = (typeof AGENT_MEMORY_TYPES)[number];

export interface RunMemory {
  type: AgentMemoryType;
}

/**
 * The run's memory, or undefined when it has none. The version's frozen
 * settings decide (a version is what runs); versions published before these
 * fields were frozen fall back to the agent's.
 */
export function runMemoryOf(deps: RuntimeDeps, agent: AgentRow, version: VersionRow): RunMemory | undefined {
  if (!deps.memory) return undefined;
  const config = version.config as { memoryEnabled?: unknown; memoryType?: unknown };
  const enabled = typeof config.memoryEnabled === 'boolean' ? config.memoryEnabled : agent.memoryEnabled;
  if (!enabled) return undefined;
  const raw = typeof config.memoryType === 'string' ? config.memoryType : agent.memoryType;
  const type = (AGENT_MEMORY_TYPES as readonly string[]).includes(raw) ? (raw as AgentMemoryType) : 'conversation';
  return { type };
}

/** Whether the session's recent turns go before the input. */
export const sendsHistory = (m: RunMemory | undefined): boolean => m?.type !== 'long_term';

/** Whether memories recalled for the user message go before the input. */
export const recallsMemories = (m: RunMemory | undefined): boolean => m?.type === 'long_term' || m?.type === 'hybrid';
