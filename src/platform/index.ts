/**
 * Platform services (seed 002's platform half): evals, webhooks, integrations
 * and OAuth tokens, platform administrators, the marketplace and billing.
 * Each area is a subfolder with its own index.ts; this file is the module's
 * only door. The platform module imports neither the runtime nor runs'
 * ingestion: what it needs from them (running an eval case, a token for an
 * http tool) is wired at the composition root (src/server.ts, src/http/app.ts).
 */
export * from './billing/index.js';
export * from './admins/index.js';
export * from './marketplace/index.js';
export * from './evals/index.js';
export * from './integrations/index.js';
export { webhooksRoutes, webhookJobHandlers, type WebhooksDeps } from './webhooks/index.js';
