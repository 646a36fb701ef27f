import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, ScriptedProvider, type ChatMessage, type Delta, type Script } from '../../../src/runtime/index.js';

const WEATHER_DEMO: Script = {
  model: 'scripted-demo',
  turns: [
    {
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }],
      usage: { promptTokens: 120, completionTokens: 18, cachedTokens: 64 },
      expect: { lastRole: 'user', lastContains: 'Oslo', tools: ['get_weather'] },
    },
    {
      content: 'It is 4 °C and raining in Oslo.',
      usage: { promptTokens: 160, completionTokens: 12, reasoningTokens: 3 },
      expect: { lastRole: 'tool' },
    },
  ],
};

const tools = [{ name: 'get_weather', parameters: { type: 'object' } }];
const ask: ChatMessage[] = [{ role: 'user', content: 'Weather in Oslo?' }];

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agentbase-script-'));
  file = path.join(dir, 'weather-demo.json');
  await writeFile(file, JSON.stringify(WEATHER_DEMO));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('scripted provider', () => {
  it('replays a script file in order: tool calls, then text, with token counts', async () => {
    const p = await ScriptedProvider.fromFile(file);
    const first = await p.complete({ messages: ask, tools });
    expect(first).toEqual({
      content: null,
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' }, rawArguments: '{"city":"Oslo"}' }],
      finishReason: 'tool_calls',
      usage: { promptTokens: 120, completionTokens: 18, cachedTokens: 64, reasoningTokens: 0, totalTokens: 138 },
      model: 'scripted-demo',
      latencyMs: 0,
      attempts: 1,
    });
    const second = await p.complete({
      messages: [...ask, { role: 'assistant', content: null, toolCalls: first.toolCalls }, { role: 'tool', toolCallId: 'call_1', content: '4C rain' }],
      tools,
    });
    expect(second).toMatchObject({
      content: 'It is 4 °C and raining in Oslo.',
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 160, completionTokens: 12, reasoningTokens: 3, totalTokens: 172 },
    });
    expect(p.remaining).toBe(0);
  });

  it('fails clearly when the script runs out', async () => {
    const p = new ScriptedProvider([{ content: 'only one' }], 'one-turn test');
    await p.complete({ messages: ask });
    const e = await p.complete({ messages: ask }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ kind: 'bad_request', retryable: false });
    expect((e as Error).message).toBe(
      'scripted provider: one-turn test has 1 turn(s) and all were used; request 2 has no reply',
    );
  });

  it('fails clearly when a request does not match the turn it would get, and does not consume the turn', async () => {
    const p = new ScriptedProvider(WEATHER_DEMO, 'weather demo');
    await expect(p.complete({ messages: ask })).rejects.toThrow(
      'request 1 does not match turn 1 of weather demo: expected the tools get_weather to be offered',
    );
    await expect(p.complete({ messages: [{ role: 'user', content: 'Paris?' }], tools })).rejects.toThrow(
      'expected the last message to contain "Oslo"',
    );
    expect(p.remaining).toBe(2);
    await p.complete({ messages: ask, tools });
    await expect(p.complete({ messages: ask, tools })).rejects.toThrow(
      'expected the last message to be from "tool", got "user"',
    );
  });

  it('is deterministic: two providers from one script give identical results and deltas', async () => {
    const run = async () => {
      const p = new ScriptedProvider(WEATHER_DEMO);
      const deltas: Delta[] = [];
      const a = await p.complete({ messages: ask, tools, stream: true }, { onDelta: (d) => deltas.push(d) });
      const b = await p.complete(
        { messages: [...ask, { role: 'tool', toolCallId: 'call_1', content: 'x' }], stream: true },
        { onDelta: (d) => deltas.push(d) },
      );
      return { a, b, deltas };
    };
    const one = await run();
    expect(await run()).toEqual(one);
    const args = one.deltas.flatMap((d) => (d.type === 'tool_call' ? [d.argumentsFragment] : [])).join('');
    expect(args).toBe('{"city":"Oslo"}');
    const text = one.deltas.flatMap((d) => (d.type === 'content' ? [d.text] : [])).join('');
    expect(text).toBe('It is 4 °C and raining in Oslo.');
  });

  it('rejects an invalid script with the path of the problem', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ turns: [{ content: 'ok' }, { usage: { promptTokens: 3 } }] }));
    await expect(ScriptedProvider.fromFile(bad)).rejects.toThrow(/bad\.json is not a valid script: .*a turn needs content, toolCalls or both/);
    await expect(ScriptedProvider.fromFile(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read script .*missing\.json/);
  });
});
