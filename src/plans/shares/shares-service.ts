import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7 } from '../../db/index.js';
import { conflict, notFound, validationFailed } from '../../errors.js';
import { findMemberRefs, hashPassword } from '../../identity/index.js';
import type { PlansDeps } from '../plans-service.js';
import * as plans from '../plans-repo.js';
import * as versions from '../plan-versions-repo.js';
import * as comments from './plan-comments-repo.js';
import { newShareToken, shareUrl } from './share-tokens.js';
import * as repo from './shares-repo.js';
import type { SharePermission, ShareRow, ShareType } from './shares-repo.js';

const clock = (deps: PlansDeps) => deps.now?.() ?? new Date();

export interface NewShareInput {
  shareType: ShareType;
  permissions: SharePermission[];
  password?: string | undefined;
  expiresAt?: string | undefined;
  maxAccessCount?: number | undefined;
  publicSlug?: string | undefined;
  sharedWithUserId?: string | undefined;
  version?: number | undefined;
}

/** A new share with its token: the only time the token is shown. */
export type CreatedShare = ShareRow & { token: string; url: string; publicUrl: string | null };

/** Every share can read; permissions are kept once each, in a fixed order. */
export const normalizePermissions = (ps: readonly SharePermission[]): SharePermission[] =>
  (['read', 'comment', 'edit'] as const).filter((p) => p === 'read' || ps.includes(p));

const bad = (path: string, message: string) => validationFailed(`${path} ${message}`, [{ path, message }]);

function checkShape(input: NewShareInput, at: Date): void {
  if (input.shareType === 'public' && !input.publicSlug) throw bad('body.publicSlug', 'is required for a public share');
  if (input.shareType !== 'public' && input.publicSlug !== undefined) throw bad('body.publicSlug', 'belongs to public shares only');
  if (input.shareType === 'private' && !input.sharedWithUserId) throw bad('body.sharedWithUserId', 'is required for a private share');
  if (input.shareType !== 'private' && input.sharedWithUserId !== undefined) throw bad('body.sharedWithUserId', 'belongs to private shares only');
  if (input.expiresAt !== undefined && new Date(input.expiresAt).getTime() <= at.getTime()) throw bad('body.expiresAt', 'must be in the future');
}

export async function createShare(deps: PlansDeps, actor: Actor & { userId: string }, planId: string, input: NewShareInput): Promise<CreatedShare> {
  const at = clock(deps);
  checkShape(input, at);
  // argon2 outside the transaction: a connection is not held while it runs.
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  const { token, hash, prefix } = newShareToken();
  const row = await deps.db.tenant(actor.orgId, async (sql) => {
    const plan = await plans.getPlan(sql, actor.orgId, planId);
    if (!plan) throw notFound('plan', planId);
    if (input.version !== undefined && !(await versions.getVersion(sql, actor.orgId, planId, input.version))) {
      throw bad('body.version', `names no version of plan ${planId} (its current version is ${plan.version})`);
    }
    // memberships are tenant-scoped: a user of another organization reads as no member
    if (input.sharedWithUserId && !(await findMemberRefs(sql, [input.sharedWithUserId])).has(input.sharedWithUserId)) {
      throw bad('body.sharedWithUserId', 'names no member of this organization');
    }
    if (input.publicSlug && (await repo.slugTaken(sql, input.publicSlug))) {
      throw conflict(`the public slug ${input.publicSlug} is taken; choose another`, { field: 'publicSlug' });
    }
    const id = uuidv7();
    const share = await repo.insertShare(sql, actor.orgId, {
      id, planId, sharedByUserId: actor.userId, sharedWithUserId: input.sharedWithUserId ?? null, tokenHash: hash, tokenPrefix: prefix,
      shareType: input.shareType, permissions: normalizePermissions(input.permissions), publicSlug: input.publicSlug ?? null, passwordHash,
      planVersion: input.version ?? null, maxAccessCount: input.maxAccessCount ?? null,
      expiresAt: input.expiresAt !== undefined ? new Date(input.expiresAt) : null, at,
    });
    await appendAudit(sql, actor, {
      action: 'plan.share.created', resourceType: 'plan_share', resourceId: id,
      newValues: {
        planId, shareType: share.shareType, permissions: share.permissions, prefix, publicSlug: share.publicSlug,
        sharedWithUserId: share.sharedWithUserId, planVersion: share.planVersion,
        // a password's presence (key names like 'password' are redacted in audit rows)
        locked: share.hasPassword,
        maxAccessCount: share.maxAccessCount, expiresAt: share.expiresAt,
      },
    });
    return share;
  });
  return { ...row, token, url: shareUrl(token), publicUrl: row.publicSlug ? shareUrl(row.publicSlug) : null };
}

export async function listShares(deps: PlansDeps, orgId: string, planId: string, f: { before?: { createdAt: string; id: string } | undefined; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await plans.getPlan(sql, orgId, planId))) throw notFound('plan', planId);
    return repo.listShares(sql, orgId, planId, f);
  });
}

/** Revoking a share that is revoked already answers 404, as an unknown one does. */
export async function revokeShare(deps: PlansDeps, actor: Actor & { userId: string }, planId: string, shareId: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await plans.getPlan(sql, actor.orgId, planId))) throw notFound('plan', planId);
    const share = await repo.revokeShare(sql, actor.orgId, planId, shareId, clock(deps));
    if (!share) throw notFound('share', shareId);
    await appendAudit(sql, actor, {
      action: 'plan.share.revoked', resourceType: 'plan_share', resourceId: shareId,
      oldValues: { planId, shareType: share.shareType, prefix: share.tokenPrefix, accessCount: share.accessCount },
      newValues: { revokedAt: share.revokedAt },
    });
  });
}

export async function listComments(deps: PlansDeps, orgId: string, planId: string, f: { before?: { createdAt: string; id: string } | undefined; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await plans.getPlan(sql, orgId, planId))) throw notFound('plan', planId);
    return comments.listComments(sql, orgId, planId, f);
  });
}
