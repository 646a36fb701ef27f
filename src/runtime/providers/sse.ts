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
 *
 * The sender may be a tenant's endpoint, so what is held is bounded: a line
 * (and the data of one event) at most maxLineChars, the whole stream at most
 * maxBytes. Past either the read fails with an invalid_response ProviderError.
 */
import { ProviderError } from './errors.js';

/** The longest line, and the most data of one event, in characters: 1 Mi (chat chunks are far smaller). */
export const SSE_MAX_LINE_CHARS = 1024 * 1024;

export interface SseLimits {
  maxLineChars?: number;
  maxBytes?: number;
}

const tooLarge = (what: string) => new ProviderError({ kind: 'invalid_response', message: `invalid response: ${what}`, retryable: false });

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>, limits: SseLimits = {}): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseLineParser(limits.maxLineChars);
  const maxBytes = limits.maxBytes ?? Infinity;
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        bytes += value.byteLength;
        if (bytes > maxBytes) throw tooLarge(`the stream is larger than the ${maxBytes % 1048576 === 0 ? `${maxBytes / 1048576} MiB` : `${maxBytes} bytes`} allowed`);
      }
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
  private dataChars = 0;
  private event = '';
  private id: string | undefined;

  constructor(private readonly maxLineChars: number = SSE_MAX_LINE_CHARS) {}

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
      if (m.index > this.maxLineChars) throw tooLarge(`a stream line is longer than the ${this.maxLineChars} characters allowed`);
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const event = this.line(line);
      if (event) yield event;
    }
    // What is left is the start of a line that has not ended yet.
    if (this.buffer.length > this.maxLineChars) throw tooLarge(`a stream line is longer than the ${this.maxLineChars} characters allowed`);
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.dataChars += value.length + 1;
      if (this.dataChars > this.maxLineChars) throw tooLarge(`a stream event's data is longer than the ${this.maxLineChars} characters allowed`);
      this.data.push(value);
    }
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.dataChars = 0;
    this.event = '';
    if (data.length === 0) return undefined;
    return { event: event || 'message', data: data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) };
  }
}
