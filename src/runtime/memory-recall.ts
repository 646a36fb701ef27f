/**
 * Recall: before a long_term or hybrid agent's first model call, its memories
 * are searched for the user message (the memory module's hybrid search) and
 * the best are put before the input as one system message that lists them,
 * within the effective config's injectTokenBudget. The search is recorded as
 * a memory_access span (query, hits with scores, what was injected, latency).
 *
 * Once per run, not per step: the query (the user message) does not change
 * between steps, and the message stays in the prompt for every later step.
 */
import { searchAgent } from '../memory/index.js';
import type { RuntimeDeps } from './deps.js';
import type { ChatMessage } from './providers/index.js';
import type { RunFrame } from './run-frame.js';
import { recallsMemories } from './run-memory.js';
import { recordMemoryAccess } from './run-recorder.js';

/** How many memories the search returns to choose from; the budget then decides how many are sent. */
export const RECALL_CANDIDATES = 20;

export const RECALL_HEADER = 'What you remember from earlier conversations that may be relevant here (most relevant first):';

/**
 * Tokens of a text, estimated as one per 4 characters, rounded up: the usual
 * rule of thumb for English with the BPE tokenizers of GPT-style models. The
 * service runs many models and ships no tokenizer, and the budget is a bound
 * on prompt growth, not a bill; an estimate errs by some percent either way,
 * and generously for code and non-Latin text (more tokens per character).
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** The user message a run's recall searches for: its input, or its last user message. */
export function recallQuery(input: RunFrame['input']): string {
  if (typeof input === 'string') return input.trim();
  for (let i = input.length - 1; i >= 0; i--) if (input[i]!.role === 'user') return input[i]!.content.trim();
  return '';
}

export interface Recalled {
  id: string;
  memoryType: string;
  content: string;
  score: number;
}

/**
 * The system message for the memories that fit: header and lines, best first,
 * stopping at the first memory that would take the message past the budget
 * (a lower-ranked short memory is not sent in place of a better long one).
 */
export function recallMessage(hits: readonly Recalled[], budget: number): { content: string; used: Recalled[]; tokens: number } | undefined {
  const used: Recalled[] = [];
  let tokens = estimateTokens(RECALL_HEADER);
  for (const h of hits) {
    const line = `\n- [${h.memoryType}] ${h.content}`;
    const t = estimateTokens(line);
    if (tokens + t > budget) break;
    used.push(h);
    tokens += t;
  }
  if (used.length === 0) return undefined;
  return { content: RECALL_HEADER + used.map((h) => `\n- [${h.memoryType}] ${h.content}`).join(''), used, tokens };
}

/**
 * The recall message of a run, or undefined (memory type conversation, no
 * user message, nothing found or nothing fits). A failed search (the embedder
 * is down) is recorded on its span and the run goes on without memories:
 * recall helps an answer, it is not worth failing one for.
 */
export async function recallForRun(deps: RuntimeDeps, frame: RunFrame): Promise<ChatMessage | undefined> {
  const m = deps.memory;
  if (!m || !recallsMemories(frame.memory)) return undefined;
  const query = recallQuery(frame.input);
  if (!query) return undefined;
  const settings = await m.settingsFor(frame.orgId, frame.agent.id);
  const budget = settings.injectTokenBudget;
  if (budget <= 0) return undefined;
  const startedAt = new Date();
  const t0 = performance.now();
  let hits: Recalled[];
  try {
    const r = await searchAgent(m, frame.orgId, frame.agent.id, { query: query.slice(0, 2000), limit: RECALL_CANDIDATES, mode: 'hybrid' });
    hits = r.items.map((h) => ({ id: h.id, memoryType: h.memoryType, content: h.content, score: h.score }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.log?.warn({ err, executionId: frame.executionId }, 'memory recall failed; the run goes on without memories');
    await recordMemoryAccess(deps, frame, {
      key: 'recall', name: 'memory_recall', step: 0, startedAt, endedAt: new Date(), input: { query }, output: null,
      attributes: { operation: 'recall', query, hits: [], injected: [], tokenBudget: budget, latencyMs: Math.round(performance.now() - t0) },
      error: message,
    });
    return undefined;
  }
  const latencyMs = Math.round(performance.now() - t0);
  const msg = recallMessage(hits, budget);
  await recordMemoryAccess(deps, frame, {
    key: 'recall',
    name: 'memory_recall',
    // Step 0: before the first model call.
    step: 0,
    startedAt,
    endedAt: new Date(),
    input: { query },
    output: { injected: msg?.used.map((h) => h.id) ?? [] },
    attributes: {
      operation: 'recall', query, hits: hits.map((h) => ({ id: h.id, score: h.score })), injected: msg?.used.map((h) => h.id) ?? [],
      tokenBudget: budget, estimatedTokens: msg?.tokens ?? 0, latencyMs,
    },
  });
  return msg ? { role: 'system', content: msg.content } : undefined;
}
