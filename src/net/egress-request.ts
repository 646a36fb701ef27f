import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { EgressRefusedError, pinnedLookup, resolveEgress, type EgressPolicy, type ResolvedAddress } from './egress.js';

/**
 * One outbound HTTP request under the egress policy, with a deadline and a
 * response size cap. No redirects are followed (a 3xx is returned as is): a
 * redirect could point anywhere, including where the policy refuses to go.
 */

export interface EgressRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** for the whole exchange: resolving, connecting, and reading the body */
  timeoutMs: number;
  /** the body is read up to this many bytes; the rest is not downloaded */
  maxBytes: number;
  policy: EgressPolicy;
  signal?: AbortSignal;
}

export interface EgressResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
  /** the address the connection went to */
  address: string | undefined;
}

export type EgressFailure = 'refused' | 'timeout' | 'aborted' | 'network';

export class EgressRequestError extends Error {
  override name = 'EgressRequestError';
  constructor(
    readonly kind: EgressFailure,
    message: string,
    readonly refusal?: EgressRefusedError,
  ) {
    super(message);
  }
}

export function egressRequest(r: EgressRequest): Promise<EgressResponse> {
  return new Promise<EgressResponse>((resolve, reject) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      fn();
      // Drops the socket: after a truncated body or a failure nothing more is read.
      req?.destroy();
    };
    const fail = (err: EgressRequestError) => settle(() => reject(err));
    // One timer for everything, DNS included: dns.lookup cannot be cancelled, but we stop waiting for it.
    const timer = setTimeout(() => fail(new EgressRequestError('timeout', `no complete response within ${r.timeoutMs} ms`)), r.timeoutMs);
    const onAbort = () => fail(new EgressRequestError('aborted', 'the request was aborted'));
    if (r.signal?.aborted) return onAbort();
    r.signal?.addEventListener('abort', onAbort, { once: true });

    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (truncated: boolean) =>
        settle(() =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(chunks, size),
            truncated,
            address: res.socket?.remoteAddress,
          }),
        );
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = r.maxBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          finish(true);
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => finish(false));
      res.on('error', (err) => fail(new EgressRequestError('network', `the response broke off: ${err.message}`)));
    };

    const send = (addresses: ResolvedAddress[]) => {
      if (settled) return;
      const mod = r.url.protocol === 'https:' ? https : http;
      try {
        // agent: false, a fresh connection per call: a pooled socket would skip the lookup we pin.
        req = mod.request(r.url, { method: r.method, headers: r.headers, agent: false, lookup: pinnedLookup(addresses) }, onResponse);
      } catch (err) {
        // Thrown synchronously for options Node refuses (a bad header); its messages name headers, not values.
        return fail(new EgressRequestError('network', `the request could not be sent: ${err instanceof Error ? err.message : String(err)}`));
      }
      req.on('error', (err) => fail(new EgressRequestError('network', `the request failed: ${err.message}`)));
      req.end(r.body);
    };

    resolveEgress(r.url, r.policy).then(send, (err: unknown) => {
      if (err instanceof EgressRefusedError) fail(new EgressRequestError('refused', err.message, err));
      else fail(new EgressRequestError('network', err instanceof Error ? err.message : String(err)));
    });
  });
}
