/**
 * Terminology:
 * - secret:   a named value an organization stores for http tools to send (API
 *             keys, bearer tokens), sealed with AES-256-GCM under a key derived
 *             from AGENTBASE_SECRET. Write-only through the API: responses, audit
 *             rows and logs carry its metadata, never the value.
 * - name:     how a tool's config refers to it ({"secret": "GITHUB_TOKEN"}),
 *             unique per organization.
 * - allowedHosts: the hosts the value may be sent to (exact names, or
 *             *.domain for its sub-domains); resolving for any other host is
 *             refused before the value is opened (allowed-hosts.ts).
 * - version:  counts replacements of the value, description or allowedHosts (a trigger bumps
 *             it); reading a secret for use only sets last_used_at.
 * - resolve:  opening the named secrets for one call (resolveSecrets); the only
 *             way the plaintext leaves this module.
 */
export type { SecretMeta } from './secrets-repo.js';
export type { SecretsDeps } from './secrets-service.js';
export { createSecret, getSecret, listSecrets, replaceSecret, deleteSecret, resolveSecrets } from './secrets-service.js';
export { secretsRoutes } from './routes/secrets-routes.js';
export { sealValue, openValue } from './seal.js';
export { AllowedHost, hostAllowed } from './allowed-hosts.js';
