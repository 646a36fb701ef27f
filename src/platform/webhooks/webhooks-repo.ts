import { uuidV7Time, type Sql } from '../../db/index.js';

/** An endpoint as the API shows it: never its secrets. */
export interface WebhookRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  isActive: boolean;
  disabledReason: 'manual' | 'gone' | 'failing' | null;
  totalDeliveries: number;
  successfulDeliveries: number;
  failedDeliveries: number;
  lastDeliveryAt: Date | null;
  lastDeliveryStatus: string | null;
  failingSince: Date | null;
  /** until when the secret before the last rotation still signs too */
  previousSecretExpiresAt: Date | null;
  createdByUserId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a delivery needs: the endpoint and its sealed secrets. */
export interface WebhookTarget {
  id: string;
  url: string;
  isActive: boolean;
  deleted: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  createdByUserId: string | null;
}

const COLUMNS = `id, url, description, events, is_active AS "isActive", disabled_reason AS "disabledReason",
  total_deliveries AS "totalDeliveries", successful_deliveries AS "successfulDeliveries", failed_deliveries AS "failedDeliveries",
  last_delivery_at AS "lastDeliveryAt", last_delivery_status AS "lastDeliveryStatus", failing_since AS "failingSince",
  previous_secret_expires_at AS "previousSecretExpiresAt", created_by_user_id AS "createdByUserId", version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function insertWebhook(
  sql: Sql,
  orgId: string,
  w: { id: string; url: string; description: string | null; events: string[]; secret: string; userId: string | null },
): Promise<WebhookRow> {
  const r = await sql.query<WebhookRow>(
    // created_at in milliseconds (the id's time), so a page cursor carrying it is exact
    `INSERT INTO webhooks (id, org_id, url, description, events, secret, created_by_user_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
    [w.id, orgId, w.url, w.description, w.events, w.secret, w.userId, uuidV7Time(w.id)!.toISOString()],
  );
  return r.rows[0]!;
}

export async function getWebhook(sql: Sql, orgId: string, id: string, lock = false): Promise<WebhookRow | undefined> {
  const r = await sql.query<WebhookRow>(
    `SELECT ${COLUMNS} FROM webhooks WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function listWebhooks(sql: Sql, orgId: string, f: { before?: { createdAt: string; id: string }; limit: number }): Promise<WebhookRow[]> {
  const r = await sql.query<WebhookRow>(
    `SELECT ${COLUMNS} FROM webhooks
     WHERE org_id = $1 AND deleted_at IS NULL AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    [orgId, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export interface WebhookPatch {
  url?: string;
  description?: string | null;
  events?: string[];
  /** true: enable (and forget failures); false: disable by hand */
  isActive?: boolean;
}

export async function updateWebhook(sql: Sql, orgId: string, id: string, p: WebhookPatch): Promise<WebhookRow> {
  const r = await sql.query<WebhookRow>(
    `UPDATE webhooks SET
       url = coalesce($3, url),
       description = CASE WHEN $4::boolean THEN $5 ELSE description END,
       events = coalesce($6::text[], events),
       is_active = coalesce($7, is_active),
       disabled_reason = CASE WHEN $7 IS NULL THEN disabled_reason WHEN $7 THEN NULL ELSE coalesce(disabled_reason, 'manual') END,
       failing_since = CASE WHEN $7 THEN NULL ELSE failing_since END,
       version = version + 1, updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, p.url ?? null, p.description !== undefined, p.description ?? null, p.events ?? null, p.isActive ?? null],
  );
  return r.rows[0]!;
}

export async function deleteWebhook(sql: Sql, orgId: string, id: string): Promise<void> {
  await sql.query(
    `UPDATE webhooks SET deleted_at = now(), is_active = false, disabled_reason = coalesce(disabled_reason, 'manual'), version = version + 1, updated_at = now()
     WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
}

/** The new secret signs from now on; the current one keeps signing until `until`. */
export async function rotateSecret(sql: Sql, orgId: string, id: string, sealed: string, until: Date): Promise<WebhookRow> {
  const r = await sql.query<WebhookRow>(
    `UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = $4, secret = $3, version = version + 1, updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, sealed, until.toISOString()],
  );
  return r.rows[0]!;
}

export async function getTarget(sql: Sql, orgId: string, id: string): Promise<WebhookTarget | undefined> {
  const r = await sql.query<WebhookTarget>(
    `SELECT id, url, is_active AS "isActive", deleted_at IS NOT NULL AS deleted, secret, previous_secret AS "previousSecret",
            previous_secret_expires_at AS "previousSecretExpiresAt", failing_since AS "failingSince", created_by_user_id AS "createdByUserId"
     FROM webhooks WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
  return r.rows[0];
}

/**
 * Counts one attempt on the endpoint. A success clears failing_since; a
 * failure sets it if unset. Returns failing_since after the update.
 */
export async function countAttempt(
  sql: Sql,
  orgId: string,
  id: string,
  a: { ok: boolean; status: string; at: Date },
): Promise<{ failingSince: Date | null } | undefined> {
  const r = await sql.query<{ failingSince: Date | null }>(
    `UPDATE webhooks SET
       total_deliveries = total_deliveries + 1,
       successful_deliveries = successful_deliveries + CASE WHEN $3 THEN 1 ELSE 0 END,
       failed_deliveries = failed_deliveries + CASE WHEN $3 THEN 0 ELSE 1 END,
       last_delivery_at = $5, last_delivery_status = $4,
       failing_since = CASE WHEN $3 THEN NULL ELSE coalesce(failing_since, $5) END
     WHERE org_id = $1 AND id = $2
     RETURNING failing_since AS "failingSince"`,
    [orgId, id, a.ok, a.status, a.at.toISOString()],
  );
  return r.rows[0];
}

/** Turns an enabled endpoint off (it answered 410, or failed for days); false when it was already off. */
export async function disableWebhook(sql: Sql, orgId: string, id: string, reason: 'gone' | 'failing'): Promise<boolean> {
  const r = await sql.query(
    `UPDATE webhooks SET is_active = false, disabled_reason = $3, version = version + 1, updated_at = now()
     WHERE org_id = $1 AND id = $2 AND is_active AND deleted_at IS NULL RETURNING 1`,
    [orgId, id, reason],
  );
  return r.rows.length > 0;
}
