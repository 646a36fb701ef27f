import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from './chain.js';

/**
 * Terminology:
 * - personal data: what identifies a person in an audit row: the actor (user
 *   id, session id, IP address, user agent), a resource id naming a user or
 *   member, and values under personal keys (email, names, user ids).
 * - pii digest:    SHA-256 of a random salt and the personal data; the chained
 *   row holds it instead of the data, so erasing audit_pii leaves every chain
 *   verifiable and the digest alone (salt gone) reveals nothing.
 */

const PERSONAL_KEY =
  /^(email|username|user_?name|full_?name|first_?name|last_?name|display_?name|author_?name|phone(_?number)?|ip(_?address)?|user_?agent|avatar_?url|customer_?name|(.*_)?user_?id|.*[a-z]user_?id|(invited|accepted|created|granted|decided|reviewed|installed|shared)_?by(_?user_?id)?)$/i;
const PERSONAL_RESOURCE = new Set(['user', 'member']);
export const PERSONAL_PLACEHOLDER = '[personal]';

export interface PersonalInput {
  userId: string | null;
  sessionId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  resourceType: string;
  resourceId: string | null;
  oldValues: unknown;
  newValues: unknown;
}

export interface PersonalSplit {
  /** what the chained row keeps */
  chained: { resourceId: string | null; oldValues: unknown; newValues: unknown };
  /** null when the row holds no personal data (nothing goes to audit_pii) */
  pii: { data: Record<string, unknown>; salt: string; digest: string; userId: string | null; subjectUserId: string | null } | null;
}

function hasPersonal(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasPersonal);
  return Object.entries(v).some(([k, x]) => (PERSONAL_KEY.test(k) && x !== null) || hasPersonal(x));
}

function maskPersonal(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(maskPersonal);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = PERSONAL_KEY.test(k) && x !== null ? PERSONAL_PLACEHOLDER : maskPersonal(x);
  return out;
}

export function piiDigest(salt: string, data: unknown): string {
  return createHash('sha256').update(salt).update('\n').update(canonicalJson(data)).digest('hex');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Separates a row's personal data from what enters the hash chain. */
export function splitPersonal(x: PersonalInput): PersonalSplit {
  const personalResource = PERSONAL_RESOURCE.has(x.resourceType) && x.resourceId !== null;
  const oldPersonal = hasPersonal(x.oldValues);
  const newPersonal = hasPersonal(x.newValues);
  const chained = {
    resourceId: personalResource ? null : x.resourceId,
    oldValues: oldPersonal ? maskPersonal(x.oldValues) : x.oldValues,
    newValues: newPersonal ? maskPersonal(x.newValues) : x.newValues,
  };
  const data: Record<string, unknown> = {};
  if (x.userId) data.userId = x.userId;
  if (x.sessionId) data.sessionId = x.sessionId;
  if (x.ipAddress) data.ipAddress = x.ipAddress;
  if (x.userAgent) data.userAgent = x.userAgent;
  if (personalResource) data.resourceId = x.resourceId;
  if (oldPersonal) data.oldValues = x.oldValues;
  if (newPersonal) data.newValues = x.newValues;
  if (Object.keys(data).length === 0) return { chained, pii: null };
  const salt = randomBytes(16).toString('hex');
  const subjectUserId = personalResource && UUID.test(x.resourceId!) ? x.resourceId : null;
  return { chained, pii: { data, salt, digest: piiDigest(salt, data), userId: x.userId, subjectUserId } };
}
