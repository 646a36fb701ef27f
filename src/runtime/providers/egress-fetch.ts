/**
 * A fetch for model endpoints a tenant chose (modelSettings.baseUrl): the
 * request goes out under the egress policy like an http tool's. The host is
 * resolved and every address checked on each call, and the connection is
 * pinned to the checked addresses (pinnedLookup), so a name that resolves to
 * a public address when checked cannot send the request to 127.0.0.1 when it
 * connects (DNS rebinding). node:http follows no redirects. The answer is a
 * WHATWG Response whose body streams, so the provider reads JSON and
 * server-sent events alike, with its own size limits.
 *
 * node:http rather than fetch: fetch resolves the name again itself, and
 * Node 20 offers no way to give it a lookup (its undici is internal; see
 * src/net/egress.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { EgressRefusedError, pinnedLookup, resolveEgress, type EgressPolicy, type ResolvedAddress } from '../../net/index.js';
import { ProviderError } from './errors.js';

/** What the OpenAI-compatible provider needs of fetch; the global fetch is one. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'manual' },
) => Promise<Response>;

const NULL_BODY = new Set([204, 205, 304]);

export function egressFetch(policy: EgressPolicy): FetchLike {
  return async (url, init) => {
    const target = new URL(url);
    let addresses: ResolvedAddress[];
    try {
      addresses = await resolveEgress(target, policy);
    } catch (err) {
      if (!(err instanceof EgressRefusedError)) throw err;
      // A lookup that timed out may work next time; an address the policy refuses will not change by retrying.
      throw new ProviderError({ kind: 'network', message: `the model endpoint cannot be reached: ${err.message}`, retryable: err.transient, cause: err });
    }
    init.signal.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const mod = target.protocol === 'https:' ? https : http;
      let req: http.ClientRequest;
      try {
        // agent: false, a fresh connection per call: a pooled socket would skip the lookup we pin.
        // A length rather than chunked encoding, which some local model servers do not take for a request.
        const headers = { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
        req = mod.request(target, { method: init.method, headers, agent: false, lookup: pinnedLookup(addresses), signal: init.signal }, (res) => {
          const status = res.statusCode ?? 0;
          // A connection that breaks mid-body errors the body stream; the event itself must not go unhandled.
          res.on('error', () => undefined);
          try {
            const answered = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              for (const v of Array.isArray(value) ? value : [value]) answered.append(name, v);
            }
            if (NULL_BODY.has(status)) res.resume();
            const body = NULL_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
            resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: answered }));
          } catch (err) {
            // A status (above 599) or a header a WHATWG Response does not accept.
            res.destroy();
            reject(new ProviderError({ kind: 'invalid_response', status, message: `invalid response: ${(err as Error).message} (HTTP ${status})`, retryable: false }));
          }
        });
      } catch (err) {
        return reject(err);
      }
      req.on('error', reject);
      req.end(init.body);
    });
  };
}
