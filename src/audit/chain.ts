import { createHash } from 'node:crypto';

/**
 * Terminology:
 * - chain:     one organization's audit rows ordered by seq (1, 2, 3, …).
 * - head:      audit_chain_heads row holding the last seq and hash; writers lock it.
 * - canonical: the row's content as JSON with keys sorted at every depth, so the
 *              same content always hashes the same whatever order jsonb returns.
 */

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedContent {
  id: string;
  orgId: string;
  seq: number;
  actorType: string;
  userId: string | null;
  apiKeyId: string | null;
  sessionId: string | null;
  agentId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  oldValues: unknown;
  newValues: unknown;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
  /** rows since 0028: the digest of the personal data kept in audit_pii (absent on older rows, so their hashes are unchanged) */
  piiDigest?: string | null;
}

function canonicalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v ?? null;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(canonicalize);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = canonicalize(x);
  }
  return out;
}

export const canonicalJson = (v: unknown): string => JSON.stringify(canonicalize(v));

/**
 * The hash of a row. The content is rebuilt field by field, so whatever else
 * the caller's object carries (the stored hashes, say) never enters it.
 */
export function chainHash(prevHash: string, c: ChainedContent): string {
  const content: ChainedContent = {
    id: c.id,
    orgId: c.orgId,
    seq: c.seq,
    actorType: c.actorType,
    userId: c.userId,
    apiKeyId: c.apiKeyId,
    sessionId: c.sessionId,
    agentId: c.agentId,
    action: c.action,
    resourceType: c.resourceType,
    resourceId: c.resourceId,
    oldValues: c.oldValues,
    newValues: c.newValues,
    ipAddress: c.ipAddress,
    userAgent: c.userAgent,
    requestId: c.requestId,
    createdAt: c.createdAt,
    // canonicalize drops undefined: a row without a digest hashes exactly as before 0028
    piiDigest: c.piiDigest ?? undefined,
  };
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(content)).digest('hex');
}
