/**
 * An offline provider that replays a script of turns in order, so demos and
 * tests of the agent loop run deterministically with no network. A turn may
 * state what the request it answers must look like (`expect`), which turns a
 * drifting agent loop into a clear error instead of a confusing replay.
 *
 * Script file (JSON): either a list of turns or { "model"?: string, "turns": [...] }
 *   turn = { "content"?: string, "toolCalls"?: [{ "id"?, "name", "arguments"?: object }],
 *            "finishReason"?: string,
 *            "usage"?: { "promptTokens"?, "completionTokens"?, "cachedTokens"?, "reasoningTokens"? },
 *            "expect"?: { "lastRole"?: "user"|"tool"|"assistant"|"system",
 *                         "lastContains"?: string, "tools"?: [tool names that must be offered],
 *                         "anyContains"?: string, "noneContains"?: string },
 *            "when"?: { "anyContains"?: string, "lastContains"?: string, "noTools"?: true } }
 *
 * A turn with `when` is a rule, not a step of the replay: it answers every
 * request that matches it (checked before the next ordered turn, first rule
 * first) and is never used up. It lets one script serve requests that come
 * besides the conversation it replays, such as the memory extraction call a
 * finished run queues, which loads the agent's script afresh.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ProviderError } from './errors.js';
import type { ChatProvider, ChatRequest, ChatResult, CompleteOptions, ToolCall } from './types.js';

const turnSchema = z
  .object({
    content: z.string().optional(),
    toolCalls: z
      .array(
        z.object({
          id: z.string().min(1).optional(),
          name: z.string().min(1),
          arguments: z.record(z.string(), z.unknown()).default({}),
        }),
      )
      .default([]),
    finishReason: z.string().optional(),
    usage: z
      .object({
        promptTokens: z.number().int().nonnegative().default(0),
        completionTokens: z.number().int().nonnegative().default(0),
        cachedTokens: z.number().int().nonnegative().default(0),
        reasoningTokens: z.number().int().nonnegative().default(0),
      })
      .optional(),
    expect: z
      .object({
        lastRole: z.enum(['system', 'user', 'assistant', 'tool']).optional(),
        lastContains: z.string().optional(),
        tools: z.array(z.string()).optional(),
        /** some message of the request contains this */
        anyContains: z.string().optional(),
        /** no message of the request contains this */
        noneContains: z.string().optional(),
      })
      .optional(),
    when: z
      .object({
        anyContains: z.string().optional(),
        lastContains: z.string().optional(),
        /** the request offers no tools */
        noTools: z.literal(true).optional(),
      })
      .optional(),
  })
  .refine((t) => t.content !== undefined || t.toolCalls.length > 0, {
    message: 'a turn needs content, toolCalls or both',
  });

const scriptSchema = z.union([
  z.array(turnSchema),
  z.object({ model: z.string().min(1).optional(), turns: z.array(turnSchema) }),
]);

export type ScriptTurn = z.input<typeof turnSchema>;
export type Script = z.input<typeof scriptSchema>;

const scriptError = (message: string) => new ProviderError({ kind: 'bad_request', message, retryable: false });

export class ScriptedProvider implements ChatProvider {
  readonly name = 'scripted';
  private readonly turns: z.output<typeof turnSchema>[];
  private readonly rules: z.output<typeof turnSchema>[];
  private readonly model: string;
  private next = 0;

  /** `source` names the script in error messages (a file path, a test name). */
  constructor(
    script: Script,
    private readonly source = 'inline script',
  ) {
    const parsed = scriptSchema.safeParse(script);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw scriptError(`scripted provider: ${source} is not a valid script: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const all = Array.isArray(parsed.data) ? parsed.data : parsed.data.turns;
    this.turns = all.filter((t) => !t.when);
    this.rules = all.filter((t) => t.when);
    this.model = (!Array.isArray(parsed.data) && parsed.data.model) || 'scripted';
  }

  static async fromFile(path: string): Promise<ScriptedProvider> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw scriptError(`scripted provider: cannot read script ${path}: ${(err as Error).message}`);
    }
    return new ScriptedProvider(json as Script, path);
  }

  /** Turns not yet replayed; a test can assert the script was used up. */
  get remaining(): number {
    return this.turns.length - this.next;
  }

  async complete(req: ChatRequest, opts: CompleteOptions = {}): Promise<ChatResult> {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const rule = this.rules.find((r) => matches(r.when!, req));
    if (rule) return this.reply(rule, req, opts, 'rule');
    const n = this.next;
    const turn = this.turns[n];
    if (!turn) {
      throw scriptError(
        `scripted provider: ${this.source} has ${this.turns.length} turn(s) and all were used; request ${n + 1} has no reply`,
      );
    }
    this.check(turn.expect, req, n);
    this.next++;
    return this.reply(turn, req, opts, String(n + 1));
  }

  private reply(turn: z.output<typeof turnSchema>, req: ChatRequest, opts: CompleteOptions, label: string): ChatResult {
    const toolCalls: ToolCall[] = turn.toolCalls.map((c, i) => ({
      id: c.id ?? `call_${label}_${i}`,
      name: c.name,
      arguments: c.arguments,
      rawArguments: JSON.stringify(c.arguments),
    }));
    if (req.stream && opts.onDelta) this.emit(turn.content, toolCalls, opts.onDelta);
    const u = turn.usage;
    const usage = {
      promptTokens: u?.promptTokens ?? 0,
      completionTokens: u?.completionTokens ?? 0,
      cachedTokens: u?.cachedTokens ?? 0,
      reasoningTokens: u?.reasoningTokens ?? 0,
      totalTokens: (u?.promptTokens ?? 0) + (u?.completionTokens ?? 0),
    };
    return {
      content: turn.content ?? null,
      toolCalls,
      finishReason: turn.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage,
      model: this.model,
      latencyMs: 0,
      attempts: 1,
    };
  }

  private check(expect: z.output<typeof turnSchema>['expect'], req: ChatRequest, n: number): void {
    if (!expect) return;
    const fail = (what: string) =>
      scriptError(`scripted provider: request ${n + 1} does not match turn ${n + 1} of ${this.source}: ${what}`);
    const last = req.messages[req.messages.length - 1];
    if (expect.lastRole && last?.role !== expect.lastRole) {
      throw fail(`expected the last message to be from "${expect.lastRole}", got "${last?.role ?? 'no message'}"`);
    }
    if (expect.lastContains !== undefined) {
      const content = last?.content ?? '';
      if (!content.includes(expect.lastContains)) {
        throw fail(`expected the last message to contain ${JSON.stringify(expect.lastContains)}`);
      }
    }
    const text = (m: ChatRequest['messages'][number]) => m.content ?? '';
    if (expect.anyContains !== undefined && !req.messages.some((m) => text(m).includes(expect.anyContains!))) {
      throw fail(`expected some message to contain ${JSON.stringify(expect.anyContains)}`);
    }
    if (expect.noneContains !== undefined && req.messages.some((m) => text(m).includes(expect.noneContains!))) {
      throw fail(`expected no message to contain ${JSON.stringify(expect.noneContains)}`);
    }
    const offered = new Set((req.tools ?? []).map((t) => t.name));
    const missing = (expect.tools ?? []).filter((t) => !offered.has(t));
    if (missing.length > 0) throw fail(`expected the tools ${missing.join(', ')} to be offered`);
  }

  /** Streams like a server would: words of the text, then each call's arguments in two fragments. */
  private emit(content: string | undefined, calls: ToolCall[], onDelta: NonNullable<CompleteOptions['onDelta']>): void {
    for (const text of content?.match(/\S+\s*|\s+/g) ?? []) onDelta({ type: 'content', text });
    calls.forEach((c, index) => {
      const raw = c.rawArguments ?? '';
      const half = Math.ceil(raw.length / 2);
      onDelta({ type: 'tool_call', index, id: c.id, name: c.name, argumentsFragment: raw.slice(0, half) });
      onDelta({ type: 'tool_call', index, argumentsFragment: raw.slice(half) });
    });
  }
}

/** Whether a rule's `when` holds for a request. */
function matches(when: { anyContains?: string | undefined; lastContains?: string | undefined; noTools?: true | undefined }, req: ChatRequest): boolean {
  if (when.noTools && (req.tools?.length ?? 0) > 0) return false;
  if (when.anyContains !== undefined && !req.messages.some((m) => (m.content ?? '').includes(when.anyContains!))) return false;
  const last = req.messages[req.messages.length - 1];
  if (when.lastContains !== undefined && !(last?.content ?? '').includes(when.lastContains)) return false;
  return true;
}
