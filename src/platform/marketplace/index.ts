/**
 * The marketplace: organizations publish agent versions as listings, platform
 * admins review them, every organization browses the approved ones, installs
 * (clones) them and reviews what it installed.
 *
 * Terminology:
 * - listing:     a published agent version with its store-front fields (title,
 *                slug, descriptions, category, tags, pricing). Its `config` is
 *                the version's configuration with secrets stripped.
 * - status:      draft → pending_review (submit) → approved | rejected (a
 *                platform admin, with a reason); editing an approved listing
 *                sends it back to pending_review. suspended is reserved for the platform.
 * - catalog:     the approved listings of every organization: the one
 *                deliberate cross-tenant read, through SECURITY DEFINER
 *                functions returning listing fields only (migration 0023).
 * - install:     a clone of the listing's configuration into the installer's
 *                organization: new tools, a new agent, the same semver, active.
 *                One per organization and listing (409 while the copy exists).
 * - review:      a rating 1–5 with text, one per organization and listing,
 *                only from installers; the listing's average is kept exactly by triggers.
 * - price:       integer US cents; paid listings are installed by accepting
 *                the price (acceptPriceCents). Charging is billing's.
 */
export type { MarketplaceDeps } from './deps.js';
export { marketplaceRoutes } from './routes/index.js';
export { stripSecrets, toolSummary } from './strip-secrets.js';
