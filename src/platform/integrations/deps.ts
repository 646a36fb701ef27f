import type { Database } from '../../db/index.js';
import type { Keys } from '../../identity/index.js';
import type { EgressPolicy } from '../../net/index.js';

export interface IntegrationsDeps {
  db: Database;
  /** secretBox seals OAuth tokens, client secrets and PKCE verifiers (the secrets store's key) */
  keys: Pick<Keys, 'secretBox'>;
  /**
   * Where calls to providers' token and revocation endpoints may go: the
   * runtime's egress setting (AGENTBASE_EGRESS_ALLOW_PRIVATE), since those URLs
   * are the tenant's to write just as http tool URLs are.
   */
  egress: EgressPolicy;
  /** the service clock (tests pin it) */
  now?: () => Date;
  /** limits of one call to a provider endpoint; defaults in OAUTH_HTTP_DEFAULTS */
  http?: { timeoutMs?: number; maxResponseBytes?: number };
}

export const clock = (deps: IntegrationsDeps): Date => deps.now?.() ?? new Date();

/** How long an authorization request (its state) may take to come back. */
export const STATE_TTL_MS = 10 * 60_000;
/** A token this close to expiry is refreshed before it is handed out. */
export const REFRESH_MARGIN_MS = 60_000;

/** The integrations' dependencies as the composition root makes them: the secrets store's key, the runtime's egress setting. */
export function integrationsDeps(db: Database, keys: Pick<Keys, 'secretBox'>, runtime: { egressAllowPrivate: boolean }): IntegrationsDeps {
  return { db, keys, egress: { allowPrivate: runtime.egressAllowPrivate } };
}
