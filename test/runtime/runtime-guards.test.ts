/**
 * Small guards of the runtime, each on its own: what a failed DNS lookup of a
 * model endpoint answers, how data is made storable, and how a streamed
 * run's events wait for a client that reads slowly (a real HTTP connection
 * on loopback whose client stops reading).
 */
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { EgressRefusedError } from '../../src/runtime/index.js';
import { EventStream } from '../../src/runtime/event-stream.js';
import { egressRefusal } from '../../src/runtime/provider-for-agent.js';
import { storableJson, storableText } from '../../src/runtime/storable.js';

describe('a model endpoint whose host does not resolve', () => {
  const unresolvable = (code: string) => new EgressRefusedError(`the host api.example.com could not be resolved (${code})`, 'unresolvable', undefined, undefined, code);

  it('for a passing reason (the resolver timed out) is 503 unavailable, to retry', () => {
    for (const code of ['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL']) {
      expect(unresolvable(code).transient).toBe(true);
      const err = egressRefusal(unresolvable(code), 'helper');
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 503, code: 'unavailable', headers: { 'retry-after': '5' }, details: { field: 'modelSettings.baseUrl', code } });
      expect(err.message).toContain('try again');
    }
  });

  it('because the name does not exist, or the address is refused, is 422 not_configured', () => {
    expect(unresolvable('ENOTFOUND').transient).toBe(false);
    expect(egressRefusal(unresolvable('ENOTFOUND'), 'helper')).toMatchObject({ status: 422, code: 'not_configured' });
    const priv = new EgressRefusedError('the host 10.0.0.1 is a private address', 'private', '10.0.0.1', 'private');
    expect(priv.transient).toBe(false);
    expect(egressRefusal(priv, 'helper')).toMatchObject({ status: 422, code: 'not_configured', details: { reason: 'private' } });
  });
});

describe('storable data', () => {
  it('replaces NUL and unpaired surrogates, keeps pairs, and cuts text without splitting a pair', () => {
    expect(storableText('a\u0000b')).toBe('a\uFFFDb');
    expect(storableText('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableText('ok 😀')).toBe('ok 😀');
    expect(storableText('ab😀', 3)).toBe('ab');
  });

  it('keeps JSON up to 32 levels, and a container from level 32 on as its JSON text', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const out = storableJson(deep);
    let node = out as unknown[];
    for (let level = 1; level < 32; level++) node = node[0] as unknown[];
    expect(typeof node).toBe('string');
    expect(JSON.parse(node as unknown as string)).toEqual(((): unknown => { let d: unknown = 1; for (let i = 0; i < 9; i++) d = [d]; return d; })());
    expect(storableJson({ n: NaN, i: Infinity, u: undefined, k: { 'a\u0000': 's\u0000' } })).toEqual({ n: null, i: null, k: { 'a\uFFFD': 's\uFFFD' } });
    expect(storableJson([undefined])).toEqual([null]);
  });

  it('survives a cycle', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(JSON.stringify(storableJson(a))).toContain('not JSON');
  });
});

describe('a streamed run\'s events and a slow client', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A server whose one response is an EventStream, and a client that does not read it until told to. */
  async function slowClient(): Promise<{ stream: EventStream; res: ServerResponse; client: IncomingMessage }> {
    let serverSide!: (x: { stream: EventStream; res: ServerResponse }) => void;
    const ready = new Promise<{ stream: EventStream; res: ServerResponse }>((resolve) => (serverSide = resolve));
    server = createServer((_req, res) => {
      const stream = new EventStream(res, {}, 64 * 1024);
      res.flushHeaders();
      serverSide({ stream, res });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/`, resolve));
    client.pause();
    return { ...(await ready), client };
  }

  /**
   * Sends 64 KiB events until 32 MiB wait in the server's own queue: more than
   * loopback's socket buffers hold, so it cannot drain before the client reads.
   */
  function fill(stream: EventStream, res: ServerResponse): Promise<void> {
    const payload = 'e'.repeat(64 * 1024);
    let wait: Promise<void> | undefined;
    while (res.writableLength < 32 * 1024 * 1024) wait = stream.send('tool_result', { payload }) ?? wait;
    if (!wait) throw new Error('send() never asked to wait');
    return wait;
  }

  it('send() asks to wait once the client is behind by more than the mark, until it reads', async () => {
    const { stream, res, client } = await slowClient();
    expect(stream.send('step', { step: 1 })).toBeUndefined();
    let drained = false;
    const wait = fill(stream, res).then(() => {
      drained = true;
    });
    expect(res.writableLength).toBeGreaterThan(64 * 1024);
    // Nothing read yet: whatever ran meanwhile, the wait is not over.
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    client.resume();
    await wait;
    expect(drained).toBe(true);
    stream.end();
  });

  it('a client that goes away ends the wait, and later events are dropped', async () => {
    const { stream, res, client } = await slowClient();
    const wait = fill(stream, res);
    client.destroy();
    await wait;
    expect(stream.send('step', { step: 2 })).toBeUndefined();
  });
});
