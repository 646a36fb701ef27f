import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, uuidV7Time } from '../../db/index.js';
import { deliveryJob, type DeliveryJobPayload } from '../../events/index.js';
import { listMembersIn } from '../../identity/index.js';
import { enqueueManyIn, PermanentJobError, type JobHandler } from '../../jobs/index.js';
import { egressRequest, EgressRequestError, type EgressResponse } from '../../net/index.js';
import { notifyIn } from '../../notifications/index.js';
import { openValue } from '../../secrets/index.js';
import { clock, type WebhooksDeps } from './deps.js';
import * as deliveries from './deliveries-repo.js';
import { signedHeaders } from './signature.js';
import * as repo from './webhooks-repo.js';

/**
 * One attempt of one event to one endpoint, as a job. Delivery is at least
 * once: the attempt is recorded (webhook_deliveries), counted on the endpoint
 * and, when it failed and attempts remain, the next one enqueued at its
 * scheduled time, all in one transaction after the request; a worker that
 * dies before that commits leaves the job to run again. Attempts of one
 * endpoint run concurrently and retries interleave with newer events, so
 * receivers get no ordering promise (the body's timestamp orders them).
 */

/** The answer kept per attempt: the first KiB (the column holds 1024 characters). */
const EXCERPT_BYTES = 1024;
/** An endpoint failing every attempt for this long is disabled and the organization told. */
export const FAILING_DISABLE_MS = 5 * 86_400_000;

const systemActor = (orgId: string): Actor => ({ orgId, actorType: 'system', userId: null });
const clean = (s: string, max: number) => s.replaceAll('\u0000', '').slice(0, max);

function parsePayload(p: unknown): DeliveryJobPayload {
  const x = p as Partial<DeliveryJobPayload> | null;
  if (!x || typeof x.eventId !== 'string' || typeof x.webhookId !== 'string' || !Number.isInteger(x.attempt) || x.attempt! < 1
    || (x.trigger !== 'auto' && x.trigger !== 'manual' && x.trigger !== 'test')) {
    throw new PermanentJobError('not a webhook delivery payload');
  }
  return x as DeliveryJobPayload;
}

export function deliveryHandler(deps: WebhooksDeps): JobHandler {
  return async (job, ctx) => {
    const p = parsePayload(job.payload);
    const orgId = job.orgId;
    const eventAt = uuidV7Time(p.eventId);
    if (!eventAt) throw new PermanentJobError('the event id is not a UUIDv7');
    const loaded = await deps.db.tenant(orgId, async (sql) => ({
      target: await repo.getTarget(sql, orgId, p.webhookId),
      event: await deliveries.getEvent(sql, orgId, p.eventId, eventAt),
    }));
    const { target, event } = loaded;
    // An event's own attempts stop when the endpoint is turned off; a test or a redelivery asked for by hand is sent anyway.
    if (!target || target.deleted) return { skipped: 'the endpoint is deleted' };
    if (!target.isActive && p.trigger === 'auto') return { skipped: 'the endpoint is disabled' };
    if (!event) return { skipped: 'the event is past retention' };

    const now = clock(deps);
    const secrets = [openValue(deps.keys, target.secret)];
    if (target.previousSecret && target.previousSecretExpiresAt && target.previousSecretExpiresAt > now) {
      secrets.push(openValue(deps.keys, target.previousSecret));
    }
    const payload = { type: event.type, timestamp: event.createdAt.toISOString(), data: event.data };
    const body = JSON.stringify(payload);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'agentbase-webhooks/1',
      ...signedHeaders(secrets, event.id, Math.floor(now.getTime() / 1000), body),
    };

    const started = performance.now();
    let res: EgressResponse | undefined;
    let error: string | null = null;
    try {
      res = await egressRequest({
        url: new URL(target.url), method: 'POST', headers, body, timeoutMs: deps.config.timeoutMs, maxBytes: EXCERPT_BYTES,
        policy: { allowPrivate: deps.config.allowPrivate, refusal: { who: 'webhooks', setting: 'AGENTBASE_WEBHOOKS_ALLOW_PRIVATE' } },
        signal: ctx.signal,
      });
    } catch (err) {
      // Given back (shutdown) or lease lost: not an attempt; the job runs again.
      if (err instanceof EgressRequestError && err.kind === 'aborted') throw err;
      error = clean(err instanceof Error ? err.message : String(err), 1000);
    }
    const durationMs = Math.round(performance.now() - started);
    const ok = !!res && res.status >= 200 && res.status < 300;
    if (res && !ok) error = `the endpoint answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`;
    const done = clock(deps);
    const schedule = deps.config.retryScheduleMs;

    await deps.db.tenant(orgId, async (sql) => {
      // Acknowledged before its WAL is flushed: the job's outcome commits synchronously after this and flushes it
      // too; a crash in between runs the job again (one more attempt, which at-least-once allows).
      await deliveries.commitAsynchronously(sql);
      let disabled: 'gone' | 'failing' | null = null;
      if (res?.status === 410) disabled = 'gone';
      else if (!ok && target.failingSince && done.getTime() - target.failingSince.getTime() >= FAILING_DISABLE_MS) disabled = 'failing';
      if (disabled && !(await repo.disableWebhook(sql, orgId, target.id, disabled))) disabled = null;
      const retryIn = !ok && !disabled && res?.status !== 410 ? schedule[p.attempt] : undefined;
      const nextRetryAt = retryIn === undefined ? null : new Date(done.getTime() + retryIn);
      const id = uuidv7();
      await deliveries.insertDelivery(sql, orgId, {
        id, webhookId: target.id, eventId: event.id, eventType: event.type, payload, status: ok ? 'success' : 'failed',
        responseStatusCode: res?.status ?? null, responseBody: res ? clean(res.body.toString('utf8'), EXCERPT_BYTES) : null,
        error, durationMs, attemptNumber: p.attempt, trigger: p.trigger, nextRetryAt, createdAt: uuidV7Time(id)!, deliveredAt: ok ? done : null,
      });
      if (nextRetryAt) await enqueueManyIn(sql, [deliveryJob({ ...p, attempt: p.attempt + 1 }, nextRetryAt)]);
      if (disabled) {
        await appendAudit(sql, systemActor(orgId), {
          action: 'webhook.disabled', resourceType: 'webhook', resourceId: target.id,
          newValues: { isActive: false, disabledReason: disabled, status: res?.status ?? null },
        });
        await notifyDisabled(sql, orgId, target, disabled, done);
      }
      // Last: the endpoint's row is the one every attempt to it updates, so its lock is held only until the commit.
      await repo.countAttempt(sql, orgId, target.id, { ok, status: ok ? 'success' : 'failed', at: done });
    });
    return { ok, status: res?.status ?? null, attempt: p.attempt };
  };
}

/** Tells the endpoint's creator and the organization's owners and admins that it was turned off. */
async function notifyDisabled(
  sql: Parameters<typeof notifyIn>[0],
  orgId: string,
  target: repo.WebhookTarget,
  reason: 'gone' | 'failing',
  at: Date,
): Promise<void> {
  const members = await listMembersIn(sql, { limit: 500 });
  const users = new Set(members.filter((m) => m.status === 'active' && m.roles.some((r) => r === 'owner' || r === 'admin')).map((m) => m.userId));
  if (target.createdByUserId) users.add(target.createdByUserId);
  const why = reason === 'gone' ? 'it answered 410 Gone' : 'every delivery to it failed for 5 days';
  await notifyIn(sql, orgId, [...users].map((userId) => ({
    userId,
    kind: 'webhook.disabled',
    title: `Webhook endpoint ${target.url} was disabled`.slice(0, 255),
    body: `The endpoint was disabled because ${why}. Fix it and enable it again with PATCH /v1/webhooks/${target.id} {"isActive": true}.`,
    data: { webhookId: target.id, url: target.url, reason },
    resourceType: 'webhook',
    resourceId: target.id,
  })), at);
}
