/**
 * Agents are addressed by a slug unique among the organization's live agents.
 * When the caller sends none it is derived from the name ("Trip Planner" →
 * "trip-planner") and made unique with a numeric suffix ("trip-planner-2").
 * Paths take an agent's id or its slug (agent-ref.ts), so a slug never has
 * the shape of a UUID: one derived from such a name gets a prefix.
 */
import { isUuid } from './builtin-tools.js';

export const SLUG_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const MAX_SLUG = 100;
const MAX_BASE = 90; // leaves room for "-" and a suffix within varchar(100)

export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents: "Café" → "cafe"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_BASE)
    .replace(/-+$/, '');
  if (isUuid(s)) return `agent-${s}`;
  return s || 'agent';
}

/** The base itself when free, otherwise the first free base-2, base-3, … */
export function firstFreeSlug(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (candidate.length <= MAX_SLUG && !taken.has(candidate)) return candidate;
  }
}
