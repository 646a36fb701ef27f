import type { VersionRow } from '../agents/index.js';
import type { Actor } from '../audit/index.js';
import type { ResolvedProvider } from './provider-for-agent.js';
import type { Usage } from './providers/index.js';
import type { RunMemory } from './run-memory.js';
import type { RunnableTool } from './run-tools.js';
import type { RunBudget, RunEvent, RunInput } from './run-types.js';
import type { HistoryEntry } from '../sessions/index.js';

/** What the loop, the recorder and the built-ins know about one execution while it runs. */
export interface RunFrame {
  orgId: string;
  /** who the writes are recorded for (the caller, or the system for queued runs) */
  actor: Actor;
  userId: string | null;
  executionId: string;
  /** the execution's ingestion key: updates to it are sent under this clientId */
  clientId: string;
  agent: { id: string; slug: string };
  version: VersionRow;
  modelSettings: Record<string, unknown>;
  provider: ResolvedProvider;
  /** the provider of the price list entry that prices the model (recorded on llm spans), if any */
  priceProvider: string | undefined;
  tools: RunnableTool[];
  /** what memory the run has (run-memory.ts); undefined: none */
  memory: RunMemory | undefined;
  sessionId: string | undefined;
  /** the plan and tags of the run, which the runs it calls inherit (run-types.ts RunLabels) */
  planId: string | undefined;
  tags: string[];
  /** the session's recent turns, sent before the input (top-level runs only) */
  history: HistoryEntry[];
  input: RunInput;
  depth: number;
  /** agent ids from the outermost run to this one, this one included */
  callPath: string[];
  traceId: string;
  /** the execution's own span id; its spans are its children */
  spanId: string;
  budget: RunBudget;
  /** this execution's own cancel switch */
  controller: AbortController;
  /** aborted by this execution's cancel, a calling execution's cancel, or the tree's deadline */
  signal: AbortSignal;
  startedAt: Date;
  /** streamed runs: where events go */
  emit?: ((e: RunEvent) => void | Promise<void>) | undefined;
  /** counted by the loop as the model answers */
  usage: Usage;
  toolCalls: ToolCallSummary[];
  /** this execution's cost as last read from the runs module (its ledger) */
  costSeen: number;
}

/** What executions.tool_calls holds: one entry per tool call, in order. */
export interface ToolCallSummary {
  step: number;
  id: string;
  name: string;
  isError: boolean;
  durationMs: number;
  childExecutionId?: string;
}
