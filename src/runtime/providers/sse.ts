/**
 * A server-sent-events reader for a fetch response body, after the WHATWG
 * event-stream rules (CR, LF or CRLF line ends; `data` lines joined by "\n";
 * comments; an event is dispatched on a blank line; an unterminated event at
 * the end is dropped).
 *
 * Hand-written rather than a dependency: Node 20 has no parser for a POST
 * response body (its EventSource is GET-only and experimental), the rules
 * above are all there is to it, and the official OpenAI SDK likewise carries
 * its own decoder. The tests feed it events split at arbitrary byte offsets.
 */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseLineParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      yield* parser.push(text, done);
      if (done) return;
    }
  } finally {
    // Stops the download when the consumer leaves early (an error, [DONE]).
    await reader.cancel().catch(() => undefined);
  }
}

export class SseLineParser {
  private buffer = '';
  private started = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  *push(text: string, end = false): Generator<SseEvent> {
    this.buffer += text;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.charCodeAt(0) === 0xfeff) this.buffer = this.buffer.slice(1);
    }
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && m.index === this.buffer.length - 1 && !end) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const event = this.line(line);
      if (event) yield event;
    }
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return undefined;
    return { event: event || 'message', data: data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) };
  }
}
