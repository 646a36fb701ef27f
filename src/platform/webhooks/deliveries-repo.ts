import type { Sql } from '../../db/index.js';

export interface EventRow {
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface DeliveryRow {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'success' | 'failed';
  responseStatusCode: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number | null;
  attemptNumber: number;
  trigger: 'auto' | 'manual' | 'test';
  nextRetryAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** An event by id; `at` is its UUIDv7 time (the partition key), so one partition is read. */
export async function getEvent(sql: Sql, orgId: string, id: string, at: Date): Promise<EventRow | undefined> {
  const r = await sql.query<EventRow>(
    `SELECT id, event_type AS type, data, created_at AS "createdAt" FROM webhook_events
     WHERE org_id = $1 AND id = $2 AND created_at = $3`,
    [orgId, id, at.toISOString()],
  );
  return r.rows[0];
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: unknown;
  status: 'success' | 'failed';
  responseStatusCode: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number;
  attemptNumber: number;
  trigger: string;
  nextRetryAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const COLUMNS = `id, webhook_id AS "webhookId", event_id AS "eventId", event_type AS "eventType", status,
  response_status_code AS "responseStatusCode", response_body AS "responseBody", error, duration_ms AS "durationMs",
  attempt_number AS "attemptNumber", trigger, next_retry_at AS "nextRetryAt", created_at AS "createdAt", delivered_at AS "deliveredAt"`;

export async function insertDelivery(sql: Sql, orgId: string, d: NewDelivery): Promise<void> {
  await sql.query(
    `INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, event_type, payload, status, response_status_code,
       response_body, error, duration_ms, attempt_number, trigger, next_retry_at, created_at, delivered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [d.id, orgId, d.webhookId, d.eventId, d.eventType, JSON.stringify(d.payload), d.status, d.responseStatusCode, d.responseBody,
      d.error, d.durationMs, d.attemptNumber, d.trigger, d.nextRetryAt?.toISOString() ?? null, d.createdAt.toISOString(),
      d.deliveredAt?.toISOString() ?? null],
  );
}

export async function listDeliveries(
  sql: Sql,
  orgId: string,
  webhookId: string,
  f: { status?: string; eventId?: string; before?: { createdAt: string; id: string }; limit: number },
): Promise<DeliveryRow[]> {
  const r = await sql.query<DeliveryRow>(
    `SELECT ${COLUMNS} FROM webhook_deliveries
     WHERE org_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR status = $3) AND ($4::uuid IS NULL OR event_id = $4)
       AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $7`,
    [orgId, webhookId, f.status ?? null, f.eventId ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

/** A delivery by id; `at` is its UUIDv7 time (the partition key). */
export async function getDelivery(sql: Sql, orgId: string, webhookId: string, id: string, at: Date): Promise<DeliveryRow | undefined> {
  const r = await sql.query<DeliveryRow>(
    `SELECT ${COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND webhook_id = $2 AND id = $3 AND created_at = $4`,
    [orgId, webhookId, id, at.toISOString()],
  );
  return r.rows[0];
}

/** synchronous_commit off for this transaction only (see delivery.ts for why that is safe here). */
export async function commitAsynchronously(sql: Sql): Promise<void> {
  await sql.query(`SELECT set_config('synchronous_commit', 'off', true)`);
}
