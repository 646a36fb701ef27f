import type { Sql } from '../../db/index.js';

/**
 * Limits on guessing a share's password, in fixed windows: per link (the
 * counters on plan_shares) and per link and client address
 * (plan_share_failures). Only wrong passwords count; opens with the right
 * one are limited by the share's access limit alone.
 */
export const PASSWORD_WINDOW_MS = 15 * 60_000;
export const MAX_FAILURES_PER_LINK = 10;
export const MAX_FAILURES_PER_ADDRESS = 5;

export interface LimitState {
  /** seconds until the window that is full ends; null when another guess is allowed */
  retryAfterSeconds: number | null;
  scope: 'link' | 'address' | null;
}

const secondsLeft = (windowStart: Date, at: Date) =>
  Math.max(1, Math.ceil((windowStart.getTime() + PASSWORD_WINDOW_MS - at.getTime()) / 1000));
const live = (windowStart: Date | null, at: Date): windowStart is Date =>
  windowStart !== null && windowStart.getTime() + PASSWORD_WINDOW_MS > at.getTime();

/** Whether one more password guess on the share from this address is allowed now. */
export async function passwordGuessAllowed(
  sql: Sql, orgId: string, share: { id: string; failedPasswordAttempts: number; failedPasswordWindowStart: Date | null }, clientAddr: string, at: Date,
): Promise<LimitState> {
  if (live(share.failedPasswordWindowStart, at) && share.failedPasswordAttempts >= MAX_FAILURES_PER_LINK) {
    return { retryAfterSeconds: secondsLeft(share.failedPasswordWindowStart, at), scope: 'link' };
  }
  const r = await sql.query<{ failures: number; windowStart: Date }>(
    `SELECT failures, window_start AS "windowStart" FROM plan_share_failures WHERE org_id = $1 AND share_id = $2 AND client_addr = $3::inet`,
    [orgId, share.id, clientAddr],
  );
  const row = r.rows[0];
  if (row && live(row.windowStart, at) && row.failures >= MAX_FAILURES_PER_ADDRESS) {
    return { retryAfterSeconds: secondsLeft(row.windowStart, at), scope: 'address' };
  }
  return { retryAfterSeconds: null, scope: null };
}

/** Counts a wrong password against the link and the address (a window that has ended starts again at one). */
export async function recordPasswordFailure(sql: Sql, orgId: string, shareId: string, clientAddr: string, at: Date): Promise<void> {
  const cutoff = new Date(at.getTime() - PASSWORD_WINDOW_MS).toISOString();
  await sql.query(
    `UPDATE plan_shares SET
       failed_password_attempts = CASE WHEN failed_password_window_start IS NULL OR failed_password_window_start <= $3::timestamptz
         THEN 1 ELSE failed_password_attempts + 1 END,
       failed_password_window_start = CASE WHEN failed_password_window_start IS NULL OR failed_password_window_start <= $3::timestamptz
         THEN $4::timestamptz ELSE failed_password_window_start END
     WHERE org_id = $1 AND id = $2`,
    [orgId, shareId, cutoff, at.toISOString()],
  );
  await sql.query(
    `INSERT INTO plan_share_failures AS f (org_id, share_id, client_addr, window_start, failures)
     VALUES ($1, $2, $3::inet, $5::timestamptz, 1)
     ON CONFLICT (org_id, share_id, client_addr) DO UPDATE SET
       failures = CASE WHEN f.window_start <= $4::timestamptz THEN 1 ELSE f.failures + 1 END,
       window_start = CASE WHEN f.window_start <= $4::timestamptz THEN $5::timestamptz ELSE f.window_start END`,
    [orgId, shareId, clientAddr, cutoff, at.toISOString()],
  );
}
