/**
 * The extraction call's prompt and the reading of its answer. A model's JSON
 * is data from outside: it is read strictly (a shape, bounded sizes), and an
 * answer that is not what was asked for is refused whole, so a half-understood
 * answer never becomes half of the memories.
 */
import { z } from 'zod';
import type { ChatMessage } from './providers/index.js';
import type { RunInput } from './run-types.js';

/** What the extraction prompt starts with (a scripted rule can match on it). */
export const EXTRACT_INSTRUCTIONS = `You extract facts and preferences worth remembering from a conversation between a user and an AI agent.
Keep only what will still be true and useful in later conversations: facts about the user or their situation, and their preferences.
Leave out greetings, small talk, the agent's own suggestions, and anything only true for this moment.
Answer with JSON only, no prose and no code fence, in this shape:
{"memories": [{"type": "fact" | "preference", "content": "<one self-contained sentence>", "importance": <0..1>}]}
Answer {"memories": []} when there is nothing worth remembering.`;

/** At most this many memories from one run: a conversation that yields more is being summarised, not remembered. */
export const MAX_EXTRACTED = 20;
/** Characters of the conversation sent: the start of a very long run is dropped, the end kept (where conclusions are). */
export const MAX_TRANSCRIPT_CHARS = 40_000;

export function extractionMessages(input: RunInput, output: string): ChatMessage[] {
  const turns = typeof input === 'string' ? [{ role: 'user', content: input }] : input.filter((m) => m.role !== 'system');
  let transcript = [...turns, { role: 'assistant', content: output }].map((t) => `${t.role}: ${t.content}`).join('\n\n');
  if (transcript.length > MAX_TRANSCRIPT_CHARS) transcript = `…${transcript.slice(-MAX_TRANSCRIPT_CHARS)}`;
  return [
    { role: 'system', content: EXTRACT_INSTRUCTIONS },
    { role: 'user', content: `The conversation:\n\n${transcript}` },
  ];
}

const Extracted = z.strictObject({
  memories: z.array(z.object({
    type: z.enum(['fact', 'preference']),
    content: z.string().trim().min(1).max(2000),
    importance: z.number().min(0).max(1).optional(),
  })).max(MAX_EXTRACTED),
});
export type ExtractedMemory = z.infer<typeof Extracted>['memories'][number];

export type ExtractionReading = { ok: true; memories: ExtractedMemory[] } | { ok: false; problem: string };

/**
 * The memories of an answer, or what is wrong with it. A code fence around
 * the JSON is tolerated (models add one however they are told); anything
 * else must be the asked-for object.
 */
export function readExtraction(content: string | null): ExtractionReading {
  if (content === null || content.trim() === '') return { ok: false, problem: 'the model answered with no text' };
  const text = content.trim().replace(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/, '$1').trim();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `the answer is not JSON (${(err as Error).message}): ${preview(text)}` };
  }
  const r = Extracted.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { ok: false, problem: `the answer is not {"memories": [{"type", "content", "importance"}]}: ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  // The same sentence twice in one answer is one memory.
  const seen = new Set<string>();
  const memories = r.data.memories.filter((x) => {
    const k = `${x.type}\u0000${x.content.toLowerCase()}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { ok: true, memories };
}

const preview = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
