import { randomBytes } from 'node:crypto';
import { appendAudit, type Actor } from '../audit/index.js';
import { AppError, badRequest, notFound } from '../errors.js';
import { API_KEY_PREFIX } from './access.js';
import * as repo from './api-keys-repo.js';
import type { IdentityDeps } from './deps.js';
import type { Principal } from './principal.js';
import { listPermissions } from './rbac-repo.js';
import { sha256hex } from './secrets.js';

export interface CreateApiKeyInput {
  name: string;
  scopes: string[];
  rateLimit?: number;
  expiresAt?: Date;
}

/**
 * Creates a key for the calling user. Its scopes must be permissions the caller
 * holds (or "*"): a key can never do more than the person who made it. The
 * secret is returned here once and stored only as prefix + SHA-256.
 */
export async function createApiKey(
  deps: IdentityDeps,
  principal: Principal,
  actor: Actor,
  held: Set<string>,
  input: CreateApiKeyInput,
): Promise<{ apiKey: repo.ApiKeyRow; key: string }> {
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw badRequest('expiresAt must be in the future', { field: 'expiresAt' });
  }
  const scopes = [...new Set(input.scopes)].sort();
  return deps.db.tenant(principal.orgId, async (sql) => {
    const known = new Set((await listPermissions(sql)).map((p) => p.name));
    const unknown = scopes.filter((s) => s !== '*' && !known.has(s));
    if (unknown.length) {
      throw badRequest(`unknown scopes: ${unknown.join(', ')}; see GET /v1/permissions for the list`, { unknown });
    }
    const notHeld = scopes.filter((s) => s !== '*' && !held.has(s));
    if (notHeld.length) {
      throw new AppError(403, 'forbidden', `you cannot grant scopes you do not hold: ${notHeld.join(', ')}`, { notHeld });
    }
    if (principal.scopes && !principal.scopes.includes('*') && scopes.includes('*')) {
      throw new AppError(403, 'forbidden', 'an API key with limited scopes cannot create a key with scope "*"');
    }
    // A key can only make keys within its own limits: no higher rate, no longer life.
    if (principal.apiKeyId) {
      const parent = await repo.getApiKey(sql, principal.apiKeyId);
      if (parent && input.rateLimit !== undefined && input.rateLimit > parent.rateLimit) {
        throw new AppError(403, 'forbidden', `this API key allows ${parent.rateLimit} requests per minute; a key it creates cannot allow more`);
      }
      if (parent?.expiresAt && (!input.expiresAt || input.expiresAt > parent.expiresAt)) {
        throw new AppError(403, 'forbidden', `this API key expires at ${parent.expiresAt.toISOString()}; a key it creates must expire no later`);
      }
      input = { ...input, rateLimit: input.rateLimit ?? Math.min(100, parent?.rateLimit ?? 100) };
    }
    const key = `${API_KEY_PREFIX}${randomBytes(30).toString('base64url')}`;
    const apiKey = await repo.insertApiKey(sql, principal.orgId, {
      userId: principal.userId,
      name: input.name,
      keyPrefix: key.slice(0, 12),
      keyHash: sha256hex(key),
      scopes,
      rateLimit: input.rateLimit ?? 100,
      expiresAt: input.expiresAt ?? null,
    });
    await appendAudit(sql, actor, { action: 'api_key.created', resourceType: 'api_key', resourceId: apiKey.id, newValues: apiKey });
    return { apiKey, key };
  });
}

/** Who is looking: members see their own keys; api_keys:manage sees everyone's. */
export interface KeyViewer {
  userId: string;
  held: Set<string>;
}

const seesAll = (v: KeyViewer) => v.held.has('api_keys:manage');
const visible = (k: repo.ApiKeyRow | undefined, v: KeyViewer) => (k && (seesAll(v) || k.userId === v.userId) ? k : undefined);

export function getApiKey(deps: IdentityDeps, orgId: string, viewer: KeyViewer, id: string): Promise<repo.ApiKeyRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const k = visible(await repo.getApiKey(sql, id), viewer);
    if (!k) throw notFound('API key', id);
    return k;
  });
}

export function listApiKeys(
  deps: IdentityDeps,
  orgId: string,
  viewer: KeyViewer,
  opts: Omit<Parameters<typeof repo.listApiKeys>[1], 'userId'>,
) {
  return deps.db.tenant(orgId, (sql) => repo.listApiKeys(sql, { ...opts, userId: seesAll(viewer) ? undefined : viewer.userId }));
}

export function revokeApiKey(deps: IdentityDeps, actor: Actor, viewer: KeyViewer, id: string): Promise<repo.ApiKeyRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = visible(await repo.getApiKey(sql, id), viewer);
    if (!before) throw notFound('API key', id);
    const after = (await repo.revokeApiKey(sql, id))!;
    if (!before.revokedAt) {
      await appendAudit(sql, actor, { action: 'api_key.revoked', resourceType: 'api_key', resourceId: id, oldValues: before, newValues: after });
    }
    return after;
  });
}
