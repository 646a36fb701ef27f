/**
 * Platform administrators: the operator's staff.
 *
 * Terminology:
 * - platform admin: a user in platform_admins. Distinct from every
 *                   organization role; granted and revoked only from the CLI
 *                   (owner role). They review marketplace listings and read
 *                   operational endpoints, never tenant data through the API.
 * - platform audit: platform_audit, one append-only hash chain for actions
 *                   that belong to no organization (grants, revokes, listing
 *                   reviews), hashed by a database trigger.
 * - staff route:    a route guarded by requirePlatformAdmin(): 403
 *                   platform_admin_required for anyone else, org owners included.
 */
export { grantPlatformAdmin, revokePlatformAdmin, listPlatformAdmins, isPlatformAdmin, verifyPlatformAudit } from './admins-service.js';
export type { GrantInput, GrantOutcome } from './admins-service.js';
export type { PlatformAdminRow, PlatformAuditEntry } from './admins-repo.js';
export { appendPlatformAudit } from './admins-repo.js';
export { requirePlatformAdmin, platformAdminOnly, platformAdminRequired, callerIsPlatformAdmin } from './require-admin.js';
