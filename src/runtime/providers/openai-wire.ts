/**
 * The OpenAI chat-completions wire format, both directions: building the
 * request body and reading a response (whole, or as stream chunks). Hosted
 * APIs and local servers (vLLM, llama.cpp, Ollama) differ in small ways; the
 * tolerances here are the ones they need and are marked where they appear.
 */
import { ProviderError } from './errors.js';
import {
  parseToolArguments,
  zeroUsage,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type Delta,
  type FinishReason,
  type ToolCall,
  type Usage,
} from './types.js';

export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';

export interface WireOptions {
  model: string;
  /** OpenAI's reasoning models reject max_tokens; local servers know only it. */
  maxTokensField: MaxTokensField;
  /** Ask for usage in the last stream chunk (stream_options.include_usage). */
  streamUsage: boolean;
}

export function buildRequestBody(req: ChatRequest, o: WireOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { model: o.model, messages: req.messages.map(toWireMessage) };
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        parameters: t.parameters,
        ...(t.strict !== undefined ? { strict: t.strict } : {}),
      },
    }));
  }
  if (req.toolChoice !== undefined) {
    body.tool_choice =
      typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } };
  }
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.maxTokens !== undefined) body[o.maxTokensField] = req.maxTokens;
  if (req.stream) {
    body.stream = true;
    if (o.streamUsage) body.stream_options = { include_usage: true };
  }
  return body;
}

function toWireMessage(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.rawArguments ?? JSON.stringify(c.arguments) },
              })),
            }
          : {}),
      };
  }
}

const invalid = (message: string) =>
  new ProviderError({ kind: 'invalid_response', message: `invalid response: ${message}`, retryable: false });

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function mapUsage(raw: unknown): Usage {
  if (!isObject(raw)) return zeroUsage();
  const promptTokens = num(raw.prompt_tokens);
  const completionTokens = num(raw.completion_tokens);
  const prompt = isObject(raw.prompt_tokens_details) ? raw.prompt_tokens_details : {};
  const completion = isObject(raw.completion_tokens_details) ? raw.completion_tokens_details : {};
  return {
    promptTokens,
    completionTokens,
    cachedTokens: num(prompt.cached_tokens),
    reasoningTokens: num(completion.reasoning_tokens),
    totalTokens: num(raw.total_tokens) || promptTokens + completionTokens,
  };
}

export function mapFinishReason(raw: unknown): FinishReason {
  if (raw === 'function_call') return 'tool_calls';
  return typeof raw === 'string' && raw !== '' ? raw : 'unknown';
}

/** Some local servers omit tool-call ids; the loop needs one to answer the call. */
const fallbackId = (index: number) => `call_${index}`;

function toolCall(id: string | undefined, index: number, name: string, rawArguments: string): ToolCall {
  return { id: id || fallbackId(index), name, rawArguments, ...parseToolArguments(rawArguments) };
}

/** Reads a non-streamed completion. */
export function parseCompletion(json: unknown, requestedModel: string): Omit<ChatResult, 'latencyMs' | 'attempts'> {
  if (!isObject(json)) throw invalid('the body is not a JSON object');
  const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
  if (!isObject(choice) || !isObject(choice.message)) throw invalid('no choices[0].message in the body');
  const message = choice.message;
  const rawCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const toolCalls = rawCalls.map((c, i) => {
    const fn = isObject(c) && isObject(c.function) ? c.function : undefined;
    const name = str(fn?.name);
    if (!name) throw invalid(`tool_calls[${i}] has no function name`);
    const args = fn?.arguments;
    // Ollama has sent arguments as an object rather than a JSON string.
    const raw = typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args);
    return toolCall(str((c as Record<string, unknown>).id), i, name, raw);
  });
  return {
    content: str(message.content) ?? null,
    toolCalls,
    finishReason: mapFinishReason(choice.finish_reason),
    usage: mapUsage(json.usage),
    model: str(json.model) ?? requestedModel,
  };
}

interface PartialCall {
  id?: string;
  name: string;
  args: string;
}

/**
 * Assembles stream chunks into a result. Tool calls arrive as fragments keyed
 * by `index`: the id and name come once (first wins; some servers repeat
 * them), the argument text is concatenated.
 */
export class StreamAccumulator {
  private content = '';
  private sawContent = false;
  private calls = new Map<number, PartialCall>();
  private finish: unknown = undefined;
  private usage: Usage = zeroUsage();
  private model: string | undefined;
  /** True once a chunk with a finish_reason arrived, so an early end is detectable. */
  finished = false;

  /** Applies one parsed `data:` payload; returns the deltas it carried. */
  apply(chunk: unknown): Delta[] {
    if (!isObject(chunk)) throw invalid('a stream chunk is not a JSON object');
    if (isObject(chunk.error)) throw streamError(chunk.error);
    if (!this.model) this.model = str(chunk.model);
    if (isObject(chunk.usage)) this.usage = mapUsage(chunk.usage);
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isObject(choice)) return []; // the usage-only last chunk has choices: []
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      this.finish = choice.finish_reason;
      this.finished = true;
    }
    const delta = isObject(choice.delta) ? choice.delta : {};
    const out: Delta[] = [];
    const text = str(delta.content);
    if (text !== undefined && text !== '') {
      this.content += text;
      this.sawContent = true;
      out.push({ type: 'content', text });
    }
    const frags = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    frags.forEach((f, position) => {
      if (!isObject(f)) return;
      // Some servers leave out `index` when each chunk carries one call.
      const index = typeof f.index === 'number' ? f.index : position;
      const fn = isObject(f.function) ? f.function : {};
      const call = this.calls.get(index) ?? { name: '', args: '' };
      const id = str(f.id);
      const name = str(fn.name);
      if (id && !call.id) call.id = id;
      if (name && !call.name) call.name = name;
      const argumentsFragment = typeof fn.arguments === 'string' ? fn.arguments : '';
      call.args += argumentsFragment;
      this.calls.set(index, call);
      out.push({
        type: 'tool_call',
        index,
        ...(id ? { id } : {}),
        ...(name ? { name } : {}),
        argumentsFragment,
      });
    });
    return out;
  }

  result(requestedModel: string): Omit<ChatResult, 'latencyMs' | 'attempts'> {
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => {
        if (!c.name) throw invalid(`streamed tool call ${index} never named its function`);
        return toolCall(c.id, index, c.name, c.args);
      });
    return {
      content: this.sawContent ? this.content : null,
      toolCalls,
      finishReason: mapFinishReason(this.finish),
      usage: this.usage,
      model: this.model ?? requestedModel,
    };
  }
}

function streamError(e: Record<string, unknown>): ProviderError {
  const message = str(e.message) ?? 'unknown error';
  return new ProviderError({
    kind: 'server_error',
    message: `the server reported an error mid-stream: ${message}`,
    retryable: true,
  });
}

/** Pulls a readable message and code out of an error body, JSON or not. */
export function describeErrorBody(text: string): { message: string; code?: string } {
  try {
    const json: unknown = JSON.parse(text);
    if (isObject(json)) {
      const err = isObject(json.error) ? json.error : json;
      const message = str(err.message) ?? str(json.error) ?? str(json.detail);
      const code = str(err.code) ?? str(err.type);
      if (message) return { message, ...(code ? { code } : {}) };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const trimmed = text.trim();
  return { message: trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed || '(empty body)' };
}
