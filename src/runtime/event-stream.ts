/**
 * Server-sent events for streamed runs (text/event-stream): one `event:` and
 * one JSON `data:` line per event. Writes after the client went away are
 * dropped; the run itself continues and is recorded (poll it by id).
 */
import type { ServerResponse } from 'node:http';

export class EventStream {
  private open = true;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) buffer responses unless told not to; a buffered stream is not a stream.
      'x-accel-buffering': 'no',
      ...headers,
    });
    res.on('close', () => {
      this.open = false;
    });
  }

  send(event: string, data: unknown): void {
    if (!this.open) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    this.res.end();
  }
}
