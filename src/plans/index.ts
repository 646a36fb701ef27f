/**
 * Plans: versioned plan documents, share links, and the travel, campaign and
 * task domains of seeds 000, 001 and 004.
 *
 * Terminology:
 * - plan:      what a team plans with agents (a trip, a campaign, anything
 *              generic): a `plans` row plus its kind's details.
 * - document:  the whole plan as one JSON value (plan-document.ts); what a
 *              version stores, a diff compares, a restore writes back and a
 *              share link shows.
 * - version:   an immutable plan_versions row; every change makes the next
 *              one, and a write names the version it read (a stale one is 409).
 * - restore:   writing an old version's document back as the next version.
 * - template:  a plan (isTemplate) or a campaign template that new plans are
 *              made from.
 * - share:     a link (token shown once, or a public slug) that opens one plan
 *              without logging in, within its limits.
 *
 * The task domain (projects, lists, tasks) has its own words: tasks/index.ts.
 */
export { planRoutes } from './routes/index.js';
export { changePlan, createPlan, getPlan, readDocument, type PlansDeps, type PlanView } from './plans-service.js';
export type { PlanDocument } from './plan-document.js';
export { findPlanRefs } from './plan-refs-repo.js';
export { openShare, type ShareRequest, type SharedView } from './shares/share-open-service.js';
export * from './tasks/index.js';
