import { v7 } from 'uuid';

/** Time-ordered UUIDv7 for high-volume tables: inserts append to the right edge of the index. */
export const uuidv7 = (): string => v7();

/**
 * The last instant PostgreSQL reads back from an ISO 8601 string we write
 * (9999-12-31T23:59:59.999Z); JavaScript prints later years as "+010000-…",
 * which PostgreSQL refuses (22007/22008).
 */
const MAX_ISO_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The time a UUIDv7 carries (its first 48 bits, milliseconds), or null for
 * any other UUID and for a v7 whose time no row of ours can have: 48 bits
 * reach the year 10889, so a well-formed id from a client may name a time
 * that cannot even be written as a query parameter. Such an id is simply not
 * found.
 */
export function uuidV7Time(id: string): Date | null {
  const hex = id.replaceAll('-', '').toLowerCase();
  if (hex.length !== 32 || hex[12] !== '7' || !/^[0-9a-f]{32}$/.test(hex)) return null;
  const ms = parseInt(hex.slice(0, 12), 16);
  return ms <= MAX_ISO_MS ? new Date(ms) : null;
}
