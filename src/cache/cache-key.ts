import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so two parameter objects that
 * differ only in key order (or in keys whose value is undefined) name the same
 * entry. Arrays keep their order: it is part of a query's meaning.
 */
export function stableJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => stableJson(x)).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface CacheKey {
  /** namespace:stable JSON, cut to 255 characters (the column); the hash is the identity */
  text: string;
  hash: string;
  queryHash: string;
}

/** The key of one read: which read (`name`, e.g. runs.costs) and its parameters. */
export function cacheKey(name: string, params: unknown): CacheKey {
  const full = `${name}:${stableJson(params ?? null)}`;
  return { text: full.slice(0, 255), hash: sha256(full), queryHash: sha256(name) };
}
