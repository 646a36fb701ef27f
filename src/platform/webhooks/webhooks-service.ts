import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, uuidV7Time } from '../../db/index.js';
import { conflict, notFound, versionConflict } from '../../errors.js';
import { emitEventTo } from '../../events/index.js';
import { sealValue } from '../../secrets/index.js';
import { clock, type WebhooksDeps } from './deps.js';
import * as deliveries from './deliveries-repo.js';
import type { DeliveryRow } from './deliveries-repo.js';
import { enqueueRedelivery } from './redelivery.js';
import { newSecret } from './signature.js';
import { checkTargetUrl } from './target-url.js';
import * as repo from './webhooks-repo.js';
import type { WebhookPatch, WebhookRow } from './webhooks-repo.js';

/** How long the secret before a rotation keeps signing: receivers switch within it. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

const missing = (id: string) => notFound('webhook', id);
// What an audit row keeps of an endpoint: never a secret, sealed or not.
const audited = (w: WebhookRow) => ({ id: w.id, url: w.url, description: w.description, events: w.events, isActive: w.isActive, version: w.version });

export interface WebhookWithSecret extends WebhookRow {
  /** shown this once; only its sealed form is kept */
  secret: string;
}

export async function createWebhook(
  deps: WebhooksDeps,
  actor: Actor,
  input: { url: string; events: string[]; description?: string | null },
): Promise<WebhookWithSecret> {
  const url = checkTargetUrl(input.url, deps.config.allowPrivate);
  const secret = newSecret();
  const w = await deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.insertWebhook(sql, actor.orgId, {
      id: uuidv7(), url, description: input.description ?? null, events: [...new Set(input.events)],
      secret: sealValue(deps.keys, secret), userId: actor.userId ?? null,
    });
    await appendAudit(sql, actor, { action: 'webhook.created', resourceType: 'webhook', resourceId: row.id, newValues: audited(row) });
    return row;
  });
  return { ...w, secret };
}

export function listWebhooks(deps: WebhooksDeps, orgId: string, f: { before?: { createdAt: string; id: string }; limit: number }): Promise<WebhookRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listWebhooks(sql, orgId, f));
}

export async function getWebhook(deps: WebhooksDeps, orgId: string, id: string): Promise<WebhookRow> {
  const w = await deps.db.tenant(orgId, (sql) => repo.getWebhook(sql, orgId, id));
  if (!w) throw missing(id);
  return w;
}

export async function updateWebhook(
  deps: WebhooksDeps,
  actor: Actor,
  id: string,
  input: WebhookPatch & { version?: number },
): Promise<WebhookRow> {
  const patch: WebhookPatch = { ...input };
  delete (patch as { version?: number }).version;
  if (patch.url !== undefined) patch.url = checkTargetUrl(patch.url, deps.config.allowPrivate);
  if (patch.events) patch.events = [...new Set(patch.events)];
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getWebhook(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    if (input.version !== undefined && input.version !== before.version) throw versionConflict(`webhook ${id}`, input.version);
    const after = await repo.updateWebhook(sql, actor.orgId, id, patch);
    await appendAudit(sql, actor, { action: 'webhook.updated', resourceType: 'webhook', resourceId: id, oldValues: audited(before), newValues: audited(after) });
    return after;
  });
}

export async function deleteWebhook(deps: WebhooksDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getWebhook(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    await repo.deleteWebhook(sql, actor.orgId, id);
    await appendAudit(sql, actor, { action: 'webhook.deleted', resourceType: 'webhook', resourceId: id, oldValues: audited(before) });
  });
}

/**
 * A new secret, shown once. The one it replaces keeps signing (both
 * signatures are sent) for ROTATION_OVERLAP_MS; a secret two rotations old
 * stops at once. Rotating again within the overlap is refused, so the secret
 * a receiver is moving off is never dropped before it has the new one.
 */
export async function rotateSecret(deps: WebhooksDeps, actor: Actor, id: string): Promise<WebhookWithSecret> {
  const secret = newSecret();
  const now = clock(deps);
  const w = await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getWebhook(sql, actor.orgId, id, true);
    if (!before) throw missing(id);
    if (before.previousSecretExpiresAt && before.previousSecretExpiresAt > now) {
      throw conflict(
        `the secret was rotated less than 24 h ago; the previous one signs until ${before.previousSecretExpiresAt.toISOString()}, rotate again after that`,
        { previousSecretExpiresAt: before.previousSecretExpiresAt.toISOString() },
      );
    }
    const after = await repo.rotateSecret(sql, actor.orgId, id, sealValue(deps.keys, secret), new Date(now.getTime() + ROTATION_OVERLAP_MS));
    await appendAudit(sql, actor, {
      action: 'webhook.secret_rotated', resourceType: 'webhook', resourceId: id,
      oldValues: { version: before.version }, newValues: { version: after.version, previousSecretExpiresAt: after.previousSecretExpiresAt },
    });
    return after;
  });
  return { ...w, secret };
}

export async function listDeliveries(
  deps: WebhooksDeps,
  orgId: string,
  id: string,
  f: { status?: string; eventId?: string; before?: { createdAt: string; id: string }; limit: number },
): Promise<DeliveryRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getWebhook(sql, orgId, id))) throw missing(id);
    return deliveries.listDeliveries(sql, orgId, id, f);
  });
}

/** Sends a webhook.test event to this endpoint (enabled or not: testing is how a fixed endpoint is checked before enabling it). */
export async function sendTest(deps: WebhooksDeps, actor: Actor, id: string): Promise<{ eventId: string }> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await repo.getWebhook(sql, actor.orgId, id))) throw missing(id);
    const e = await emitEventTo(sql, actor.orgId, id, 'webhook.test', { webhookId: id, message: 'a test event from agentbase' }, 'test');
    await appendAudit(sql, actor, { action: 'webhook.tested', resourceType: 'webhook', resourceId: id, newValues: { eventId: e.id } });
    return { eventId: e.id };
  });
}

/** Sends an event this endpoint got (or was due to get) again, as a new chain of attempts with the same webhook-id. */
export async function redeliverEvent(deps: WebhooksDeps, actor: Actor, id: string, eventId: string): Promise<{ eventId: string }> {
  const at = uuidV7Time(eventId);
  return deps.db.tenant(actor.orgId, async (sql) => {
    if (!(await repo.getWebhook(sql, actor.orgId, id))) throw missing(id);
    const event = at ? await deliveries.getEvent(sql, actor.orgId, eventId, at) : undefined;
    if (!event) throw notFound('event', eventId);
    await enqueueRedelivery(sql, actor.orgId, id, eventId);
    await appendAudit(sql, actor, { action: 'webhook.redelivered', resourceType: 'webhook', resourceId: id, newValues: { eventId } });
    return { eventId };
  });
}

export async function redeliverDelivery(deps: WebhooksDeps, actor: Actor, id: string, deliveryId: string): Promise<{ eventId: string }> {
  const at = uuidV7Time(deliveryId);
  const d = at ? await deps.db.tenant(actor.orgId, (sql) => deliveries.getDelivery(sql, actor.orgId, id, deliveryId, at)) : undefined;
  if (!d) {
    await getWebhook(deps, actor.orgId, id); // 404 for the endpoint first, when it is the one missing
    throw notFound('delivery', deliveryId);
  }
  return redeliverEvent(deps, actor, id, d.eventId);
}
