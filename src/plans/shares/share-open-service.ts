import { appendAudit, type Actor } from '../../audit/index.js';
import { emitEvent } from '../../events/index.js';
import { uuidv7, type Sql } from '../../db/index.js';
import { AppError, conflict, notFound } from '../../errors.js';
import { verifyPassword } from '../../identity/index.js';
import type { PlanDocument, PlanKind } from '../plan-document.js';
import { updatePlan, type PlanPatch, type PlansDeps } from '../plans-service.js';
import * as plans from '../plans-repo.js';
import * as versions from '../plan-versions-repo.js';
import * as comments from './plan-comments-repo.js';
import { classifyShareRef } from './share-tokens.js';
import { passwordGuessAllowed, recordPasswordFailure } from './share-limits-repo.js';
import * as repo from './shares-repo.js';
import type { SharePermission, ShareSecretRow, ShareType } from './shares-repo.js';

/**
 * Opening a share: no login, so the share is found first without a tenant
 * (plan_share_find), and everything after runs in its organization. The
 * answers, in the order they are decided:
 *   unknown, revoked, deleted plan       404 not_found (all look alike)
 *   private, not logged in               401 unauthenticated
 *   private, logged in as someone else   404 not_found
 *   expired                              410 share_expired
 *   used up (views only)                 410 share_exhausted
 *   password set, none sent              401 share_password_required
 *   too many wrong passwords             429 rate_limited (Retry-After)
 *   wrong password                       401 invalid_credentials
 *   permission missing (comment, edit)   403 forbidden
 * A view counts one access; a comment or an edit does not.
 */

const clock = (deps: PlansDeps) => deps.now?.() ?? new Date();

export interface ShareRequest {
  /** X-Share-Password */
  password?: string | undefined;
  /** the client's address, for the per-address limit on wrong passwords */
  clientAddr: string;
  /** the logged-in caller, if any (a private share opens for its member only) */
  userId?: string | undefined;
  orgId?: string | undefined;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface SharedView {
  plan: { id: string; kind: PlanKind; title: string; version: number };
  share: { type: ShareType; permissions: SharePermission[]; expiresAt: Date | null };
  document: PlanDocument;
}

const unknownShare = () => notFound('share link');

type Then<T> = (sql: Sql, orgId: string, share: ShareSecretRow) => Promise<T>;

/**
 * Finds the share, runs every check up to and including the password, then
 * `then` in the share's organization. A share without a password is decided
 * and served in one tenant transaction; with one, argon2 runs between two
 * (no connection is held while it does).
 */
async function admitted<T>(deps: PlansDeps, ref: string, req: ShareRequest, mode: 'view' | 'act', then: Then<T>): Promise<T> {
  const at = clock(deps);
  const r = classifyShareRef(ref);
  if (!r) throw unknownShare();
  const found = await deps.db.transaction((sql) => repo.findShare(sql, r));
  if (!found) throw unknownShare();
  const orgId = found.orgId;
  const first = await deps.db.tenant(orgId, async (sql) => {
    const share = await repo.getShareSecret(sql, orgId, found.id);
    if (!share || share.revokedAt || !share.isActive) throw unknownShare();
    if (share.shareType === 'private') {
      if (!req.userId) throw new AppError(401, 'unauthenticated', 'this share link is for one member of the organization: send their Authorization: Bearer <access token>');
      if (req.userId !== share.sharedWithUserId || req.orgId !== orgId) throw unknownShare();
    }
    if (share.expiresAt && share.expiresAt.getTime() <= at.getTime()) {
      throw new AppError(410, 'share_expired', 'this share link has expired; ask its owner for a new one');
    }
    if (mode === 'view' && share.maxAccessCount !== null && share.accessCount >= share.maxAccessCount) throw exhausted();
    if (!share.passwordHash) return { done: true as const, value: await then(sql, orgId, share) };
    if (req.password === undefined) {
      throw new AppError(401, 'share_password_required', 'this share link needs its password: send it in the X-Share-Password header');
    }
    const limit = await passwordGuessAllowed(sql, orgId, share, req.clientAddr, at);
    return { done: false as const, share, passwordHash: share.passwordHash, retryAfter: limit.retryAfterSeconds };
  });
  if (first.done) return first.value;
  const { share, passwordHash, retryAfter } = first;
  if (retryAfter !== null) {
    throw new AppError(429, 'rate_limited', `too many wrong passwords for this share link; retry in ${retryAfter} seconds`,
      { retryAfterSeconds: retryAfter }, { 'retry-after': String(retryAfter) });
  }
  // A wrong guess is counted in a transaction of its own, committed before the answer.
  if (!(await verifyPassword(passwordHash, req.password!))) {
    await deps.db.tenant(orgId, (sql) => recordPasswordFailure(sql, orgId, share.id, req.clientAddr, clock(deps)));
    throw new AppError(401, 'invalid_credentials', 'the share link password is not correct');
  }
  return deps.db.tenant(orgId, (sql) => then(sql, orgId, share));
}

const exhausted = () => new AppError(410, 'share_exhausted', 'this share link has been opened as many times as it allows; ask its owner for a new one');

function lacks(share: ShareSecretRow, permission: SharePermission): AppError | undefined {
  if (share.permissions.includes(permission)) return undefined;
  return new AppError(403, 'forbidden', `this share link does not grant the ${permission} permission`, { permission });
}

/** What a share shows of a document: its content without what the agents produced along the way. */
function shown(doc: PlanDocument): PlanDocument {
  if (!doc.travel) return doc;
  const { agentResults: _r, agentExecutionSummary: _s, ...travel } = doc.travel;
  return { ...doc, travel: travel as PlanDocument['travel'] & object };
}

async function sharedView(sql: Sql, orgId: string, share: ShareSecretRow, planVersion: number): Promise<SharedView> {
  const v = await versions.getVersion(sql, orgId, share.planId, planVersion);
  if (!v) throw unknownShare();
  return {
    plan: { id: share.planId, kind: v.document.kind, title: v.document.plan.title, version: v.version },
    share: { type: share.shareType, permissions: share.permissions, expiresAt: share.expiresAt },
    document: shown(v.document),
  };
}

/** GET /v1/shared/{tokenOrSlug}: the plan's content at the share's version (or the current one), counting one access. */
export function openShare(deps: PlansDeps, tokenOrSlug: string, req: ShareRequest): Promise<SharedView> {
  return admitted(deps, tokenOrSlug, req, 'view', async (sql, orgId, share) => {
    const plan = await plans.getPlan(sql, orgId, share.planId);
    if (!plan) throw unknownShare();
    const access = await repo.consumeAccess(sql, orgId, share.id, clock(deps));
    if (!access) throw exhausted();
    await emitEvent(sql, orgId, 'share.accessed', { planId: share.planId, shareId: share.id, accessCount: access.accessCount });
    return sharedView(sql, orgId, share, share.planVersion ?? plan.version);
  });
}

const shareActor = (orgId: string, userId: string | null, req: ShareRequest): Actor => ({
  orgId, actorType: 'system', userId, ip: req.clientAddr, userAgent: req.userAgent ?? null, requestId: req.requestId ?? null,
});

/** POST /v1/shared/{tokenOrSlug}/comments: needs the comment permission; counts no access. */
export async function commentViaShare(
  deps: PlansDeps, tokenOrSlug: string, req: ShareRequest, input: { authorName: string; body: string },
): Promise<comments.CommentRow> {
  return admitted(deps, tokenOrSlug, req, 'act', async (sql, orgId, share) => {
    const denied = lacks(share, 'comment');
    if (denied) throw denied;
    const plan = await plans.getPlan(sql, orgId, share.planId);
    if (!plan) throw unknownShare();
    const c = await comments.insertComment(sql, orgId, {
      id: uuidv7(), planId: share.planId, planVersion: share.planVersion ?? plan.version, shareId: share.id,
      userId: share.shareType === 'private' ? share.sharedWithUserId : null, authorName: input.authorName, body: input.body, at: clock(deps),
    });
    await appendAudit(sql, shareActor(orgId, c.userId, req), {
      action: 'plan.comment.created', resourceType: 'plan_comment', resourceId: c.id,
      newValues: { planId: share.planId, shareId: share.id, planVersion: c.planVersion, authorName: c.authorName },
    });
    return c;
  });
}

/**
 * PATCH /v1/shared/{tokenOrSlug}: needs the edit permission; changes the plan
 * as the share's creator would (the next version, audited with the share's
 * id). A share pinned to a version shows that version and cannot change it.
 */
export async function editViaShare(deps: PlansDeps, tokenOrSlug: string, req: ShareRequest, patch: PlanPatch): Promise<SharedView> {
  // the change runs in a transaction of its own (changePlan's), after the checks
  const { orgId, share } = await admitted(deps, tokenOrSlug, req, 'act', async (_sql, orgId, share) => ({ orgId, share }));
  const denied = lacks(share, 'edit');
  if (denied) throw denied;
  if (share.planVersion !== null) {
    throw conflict(`this share link shows version ${share.planVersion} of the plan and cannot change it`, { planVersion: share.planVersion });
  }
  const actor = { ...shareActor(orgId, share.sharedByUserId, req), userId: share.sharedByUserId };
  const updated = await updatePlan(deps, actor, share.planId, patch, { auditNewValues: { shareId: share.id } });
  return deps.db.tenant(orgId, (sql) => sharedView(sql, orgId, share, updated.version));
}
