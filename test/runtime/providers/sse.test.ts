import { describe, expect, it } from 'vitest';
import { readSse, SseLineParser, type SseEvent } from '../../../src/runtime/providers/sse.js';

const STREAM =
  '\uFEFF: comment\r\n' +
  'data: {"a":1}\r\n\r\n' +
  'event: update\nid: 7\ndata: line one\ndata:line two\n\n' +
  'data\n\n' + // a field with no colon: empty data, still an event
  '\r\n' + // a blank line with nothing pending dispatches nothing
  'retry: 100\nunknown: x\ndata: [DONE]\r\r' +
  'data: never terminated';

const EXPECTED: SseEvent[] = [
  { event: 'message', data: '{"a":1}' },
  { event: 'update', data: 'line one\nline two', id: '7' },
  { event: 'message', data: '', id: '7' },
  { event: 'message', data: '[DONE]', id: '7' },
];

function parseInPieces(text: string, cuts: number[]): SseEvent[] {
  const p = new SseLineParser();
  const out: SseEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(...p.push(text.slice(from, cut), cut === text.length));
    from = cut;
  }
  return out;
}

describe('SSE parser', () => {
  it('parses the event-stream rules in one piece', () => {
    expect(parseInPieces(STREAM, [])).toEqual(EXPECTED);
  });

  it('gives the same events however the text is split (every CRLF and every offset)', () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseInPieces(STREAM, [i])).toEqual(EXPECTED);
    }
    const oneCharAtATime = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
    expect(parseInPieces(STREAM, oneCharAtATime)).toEqual(EXPECTED);
  });

  it('reads a byte stream whose chunks split multi-byte characters', async () => {
    const bytes = new TextEncoder().encode('data: héllo ☃\n\ndata: b\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const e of readSse(body)) events.push(e);
    expect(events.map((e) => e.data)).toEqual(['héllo ☃', 'b']);
  });
});
