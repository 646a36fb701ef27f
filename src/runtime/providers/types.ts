/**
 * The provider-neutral chat vocabulary. Every provider (HTTP or scripted)
 * speaks these shapes, so the agent loop never sees a wire format.
 */

/** A tool call as the model made it, or as it is sent back in history. */
export interface ToolCall {
  id: string;
  name: string;
  /** The parsed arguments; `{}` when they were not a JSON object (see `invalidArguments`). */
  arguments: Record<string, unknown>;
  /** Exactly what the model sent, so a follow-up request repeats it verbatim. */
  rawArguments?: string;
  /**
   * Set when `rawArguments` is not a JSON object. Models do emit broken JSON;
   * the call is kept (not thrown) so the agent loop can answer it with a tool
   * error and let the model correct itself instead of failing the whole run.
   */
  invalidArguments?: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

export interface FunctionTool {
  name: string;
  description?: string;
  /** A JSON Schema object describing the arguments. */
  parameters: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: FunctionTool[];
  toolChoice?: ToolChoice;
  temperature?: number;
  maxTokens?: number;
  stream?: boolean;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the provider's prompt cache (part of promptTokens). */
  cachedTokens: number;
  /** Hidden reasoning tokens (part of completionTokens). */
  reasoningTokens: number;
  totalTokens: number;
}

/**
 * The server's finish reason; `function_call` is normalised to `tool_calls`,
 * a missing one becomes `unknown`. Decide "does the model want tools?" by
 * `toolCalls.length`, not by this: some local servers answer `stop` with calls.
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'unknown' | (string & {});

export interface ChatResult {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** All zero when the server reported no usage (some local servers do not). */
  usage: Usage;
  /** The model named in the response (may differ from the requested alias). */
  model: string;
  /** Wall time of the whole call, retries and back-off included. */
  latencyMs: number;
  /** HTTP attempts made (1 when the first succeeded). */
  attempts: number;
}

/** A streamed fragment, in arrival order. Tool-call fragments share `index`. */
export type Delta =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; argumentsFragment: string };

export interface CompleteOptions {
  signal?: AbortSignal;
  onDelta?: (delta: Delta) => void;
}

export interface ChatProvider {
  /** A label for spans and errors, e.g. "openai-compatible" or "scripted". */
  readonly name: string;
  complete(req: ChatRequest, opts?: CompleteOptions): Promise<ChatResult>;
}

export const zeroUsage = (): Usage => ({
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0,
});

/** Parses tool-call arguments without throwing; see ToolCall.invalidArguments. */
export function parseToolArguments(raw: string): Pick<ToolCall, 'arguments' | 'invalidArguments'> {
  // Servers send "" for a call with no parameters.
  if (raw.trim() === '') return { arguments: {} };
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { arguments: parsed as Record<string, unknown> };
    }
    return { arguments: {}, invalidArguments: 'the arguments are JSON but not an object' };
  } catch (err) {
    return { arguments: {}, invalidArguments: `the arguments are not valid JSON: ${(err as Error).message}` };
  }
}
