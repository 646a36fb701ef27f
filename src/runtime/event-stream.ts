/**
 * Server-sent events for streamed runs (text/event-stream): one `event:` and
 * one JSON `data:` line per event. Writes after the client went away are
 * dropped; the run itself continues and is recorded (poll it by id).
 *
 * A client that reads slowly makes writes queue up in memory. Past
 * HIGH_WATER bytes queued, send() returns a promise that settles when the
 * queue drained (or the client left), and the agent loop waits for it before
 * its next step, so a slow reader slows the run instead of growing the
 * queue. Bulky payloads (tool results) are cut short in the event before
 * they get here (agent-loop.ts eventPayload); the spans keep them whole.
 */
import type { ServerResponse } from 'node:http';

/** Bytes queued for the client beyond which the run waits for them to drain. */
export const EVENT_STREAM_HIGH_WATER = 1024 * 1024;

export class EventStream {
  private open = true;
  private drained: Promise<void> | undefined;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
    private readonly highWater = EVENT_STREAM_HIGH_WATER,
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

  /** Writes the event; returns a promise only when the client is behind by more than the high-water mark. */
  send(event: string, data: unknown): Promise<void> | undefined {
    if (!this.open) return undefined;
    const flowing = this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (flowing || this.res.writableLength <= this.highWater) return undefined;
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
    return this.drained;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    this.res.end();
  }
}
