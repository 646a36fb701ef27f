import { uuidv7, type Database } from '../../db/index.js';
import { AppError, notFound } from '../../errors.js';
import * as repo from './admins-repo.js';
import type { PlatformAdminRow } from './admins-repo.js';

/**
 * Granting and revoking platform administrators. These run as the owner role
 * (the CLI, against the configured database): the app role can never write
 * platform_admins, so no API request can make anyone an administrator.
 */

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function assertEmail(email: string): void {
  if (!EMAIL.test(email) || email.length > 255) {
    throw new AppError(400, 'bad_request', `${JSON.stringify(email)} is not an email address`);
  }
}

export interface GrantInput {
  email: string;
  /** who grants, recorded as granted_by and as the audit actor ("cli:<by>") */
  by: string;
  note?: string | null;
}

export interface GrantOutcome {
  userId: string;
  email: string;
  /** false: the user already was a platform administrator (nothing written) */
  granted: boolean;
}

/** Makes the user with this email a platform administrator; an unknown email is 404. */
export async function grantPlatformAdmin(db: Database, input: GrantInput): Promise<GrantOutcome> {
  assertEmail(input.email);
  const email = input.email.toLowerCase();
  return db.admin.transaction(async (sql) => {
    const userId = await repo.userIdByEmail(sql, email);
    if (!userId) throw notFound(`user with email ${email}`);
    const granted = await repo.insertAdmin(sql, userId, input.by, input.note ?? null);
    if (granted) {
      await repo.appendPlatformAudit(sql, {
        id: uuidv7(), actor: `cli:${input.by}`, actorUserId: null, action: 'platform_admin.granted',
        resourceType: 'user', resourceId: userId, orgId: null, details: { email, note: input.note ?? null },
      });
    }
    return { userId, email, granted };
  });
}

/** Takes the rights away; an unknown email or a user who is no administrator is 404. */
export async function revokePlatformAdmin(db: Database, input: Omit<GrantInput, 'note'>): Promise<{ userId: string; email: string }> {
  assertEmail(input.email);
  const email = input.email.toLowerCase();
  return db.admin.transaction(async (sql) => {
    const userId = await repo.userIdByEmail(sql, email);
    if (!userId) throw notFound(`user with email ${email}`);
    const before = await repo.deleteAdmin(sql, userId);
    if (!before) throw new AppError(404, 'not_found', `${email} is not a platform administrator`);
    await repo.appendPlatformAudit(sql, {
      id: uuidv7(), actor: `cli:${input.by}`, actorUserId: null, action: 'platform_admin.revoked',
      resourceType: 'user', resourceId: userId, orgId: null,
      details: { email, grantedAt: before.grantedAt, grantedBy: before.grantedBy },
    });
    return { userId, email };
  });
}

export function listPlatformAdmins(db: Database): Promise<PlatformAdminRow[]> {
  return db.admin.transaction((sql) => repo.listAdmins(sql));
}

/** Whether the user is a platform administrator, as the app role may ask (no tenant needed). */
export function isPlatformAdmin(db: Database, userId: string): Promise<boolean> {
  return db.transaction((sql) => repo.adminCheck(sql, userId));
}

/** The row number where the platform audit chain first fails to verify, or undefined when it is intact. */
export function verifyPlatformAudit(db: Database): Promise<number | undefined> {
  return db.admin.transaction((sql) => repo.platformAuditFirstBreak(sql));
}
