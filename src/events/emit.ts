import { uuidv7, uuidV7Time, type Sql } from '../db/index.js';
import { enqueueManyIn, type EnqueueInput } from '../jobs/index.js';
import { patternsFor, subscribes, type EventData, type EventType } from './catalogue.js';
import * as repo from './events-repo.js';

/** The queue and task of webhook deliveries (the platform module's webhooks area handles it). */
export const WEBHOOK_QUEUE = 'webhooks';
export const WEBHOOK_DELIVER_TASK = 'webhook.deliver';
/**
 * A delivery job's own attempts: they cover a worker dying or the database
 * being away mid-attempt. The endpoint's retries (the retry schedule) are new
 * jobs the handler enqueues, one per attempt.
 */
const DELIVERY_JOB_ATTEMPTS = 5;

export type DeliveryTrigger = 'auto' | 'manual' | 'test';

export interface DeliveryJobPayload {
  eventId: string;
  webhookId: string;
  /** which attempt of the retry schedule this job is, from 1 */
  attempt: number;
  trigger: DeliveryTrigger;
  /** a redelivery's own id: its attempts are a chain of their own */
  chain?: string;
}

/** The job that sends one attempt; its idempotency key names the attempt, so one attempt has at most one job. */
export function deliveryJob(p: DeliveryJobPayload, runAt?: Date): EnqueueInput {
  return {
    queue: WEBHOOK_QUEUE,
    task: WEBHOOK_DELIVER_TASK,
    payload: { ...p },
    maxAttempts: DELIVERY_JOB_ATTEMPTS,
    idempotencyKey: `wh:${p.eventId}:${p.webhookId}:${p.chain ?? p.trigger}:${p.attempt}`,
    ...(runAt ? { runAt } : {}),
  };
}

export interface EventInput<T extends EventType = EventType> {
  type: T;
  data: EventData<T>;
}

export interface Emitted {
  id: string;
  type: EventType;
  /** the endpoints it will be delivered to */
  webhookIds: string[];
}

function newEvent(type: string, data: object) {
  const id = uuidv7();
  return { id, type, data: data as Record<string, unknown>, createdAt: uuidV7Time(id)! };
}

/**
 * Records events inside the caller's transaction: they are delivered exactly
 * when the change commits. One indexed lookup of the org's enabled endpoints
 * subscribed to any of the types; when none is, nothing else happens. Else
 * one statement writes the events that have subscribers and one enqueues a
 * delivery job per (event, endpoint). Set-based, so a batch costs the same
 * three statements as one event.
 */
export async function emitEvents(sql: Sql, orgId: string, events: readonly EventInput[]): Promise<Emitted[]> {
  if (!events.length) return [];
  const patterns = [...new Set(events.flatMap((e) => patternsFor(e.type)))];
  const subs = await repo.subscribers(sql, orgId, patterns);
  if (!subs.length) return [];
  const out: Emitted[] = [];
  const rows: repo.NewEvent[] = [];
  const jobs: EnqueueInput[] = [];
  for (const e of events) {
    const webhookIds = subs.filter((s) => subscribes(s.events, e.type)).map((s) => s.id);
    if (!webhookIds.length) continue;
    const row = newEvent(e.type, e.data);
    rows.push(row);
    out.push({ id: row.id, type: e.type, webhookIds });
    for (const webhookId of webhookIds) jobs.push(deliveryJob({ eventId: row.id, webhookId, attempt: 1, trigger: 'auto' }));
  }
  await repo.insertEvents(sql, orgId, rows);
  await enqueueManyIn(sql, jobs);
  return out;
}

export async function emitEvent<T extends EventType>(sql: Sql, orgId: string, type: T, data: EventData<T>): Promise<Emitted | null> {
  const [e] = await emitEvents(sql, orgId, [{ type, data } as EventInput]);
  return e ?? null;
}

/**
 * emitEvent at most once per key (quota.exceeded: once per org, limit and
 * month). The key is claimed only when an endpoint subscribes, so an event
 * nobody listened for does not use it up.
 */
export async function emitEventOnce<T extends EventType>(sql: Sql, orgId: string, key: string, type: T, data: EventData<T>): Promise<Emitted | null> {
  const subs = await repo.subscribers(sql, orgId, patternsFor(type));
  if (!subs.some((s) => subscribes(s.events, type))) return null;
  if (!(await repo.claimKey(sql, orgId, key))) return null;
  return emitEvent(sql, orgId, type, data);
}

/**
 * An event for one endpoint, whatever it subscribes to (webhook.test). The
 * caller has checked the endpoint exists in this organization.
 */
export async function emitEventTo<T extends EventType>(sql: Sql, orgId: string, webhookId: string, type: T, data: EventData<T>, trigger: DeliveryTrigger): Promise<Emitted> {
  const row = newEvent(type, data);
  await repo.insertEvents(sql, orgId, [row]);
  await enqueueManyIn(sql, [deliveryJob({ eventId: row.id, webhookId, attempt: 1, trigger })]);
  return { id: row.id, type, webhookIds: [webhookId] };
}
