/**
 * What the memory module needs to call an embeddings API of a tenant's
 * choosing, built from the runtime's own outbound rules so embeddings go out
 * exactly like model calls: the host resolved and every address checked
 * against the egress policy (no loopback, private or link-local addresses
 * unless AGENTBASE_EGRESS_ALLOW_PRIVATE), the connection pinned to the checked
 * addresses, no redirects followed; and a key opened only for a host its
 * secret is bound to (allowedHosts).
 *
 * Memory cannot import the runtime (the runtime imports memory), so the
 * service hands these two functions to createMemory.
 */
import type { EgressFetch, OpenSecret } from '../memory/index.js';
import { resolveSecrets } from '../secrets/index.js';
import type { RuntimeDeps } from './deps.js';
import { egressFetch } from './providers/egress-fetch.js';

export function embeddingEgress(deps: Pick<RuntimeDeps, 'db' | 'config' | 'keys'>): { egressFetch: EgressFetch; openSecret: OpenSecret } {
  // Refusals come out as ProviderError, whose `retryable` tells the embedder whether trying again can help.
  const send = egressFetch({ allowPrivate: deps.config.egressAllowPrivate });
  return {
    egressFetch(url, init) {
      const timeout = AbortSignal.timeout(init.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      return send(url, { method: init.method, headers: init.headers, body: init.body, signal, redirect: 'manual' });
    },
    // 404 (not stored) and 403 (not bound to the host) come out as AppError with that status.
    async openSecret(orgId, name, host) {
      const values = await resolveSecrets(deps.db, deps.keys, orgId, [name], host);
      return values.get(name)!;
    },
  };
}
