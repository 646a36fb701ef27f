import jsonPatch from 'fast-json-patch';
import type { PlanDocument } from './plan-document.js';

/**
 * The difference between two plan documents: an RFC 6902 JSON Patch that
 * turns the first into the second (fast-json-patch's compare, which is
 * tested against the RFC's suite; applying it to `from` gives `to` exactly),
 * and a summary in words for people. The patch addresses array items by
 * position, as RFC 6902 must; the summary matches ideas and channel plans by
 * their ids, so a removed first idea reads as one removal, not as every later
 * idea changing.
 */
export type PatchOperation = jsonPatch.Operation;

export function documentPatch(from: PlanDocument, to: PlanDocument): PatchOperation[] {
  return jsonPatch.compare(from as unknown as object, to as unknown as object);
}

export function applyDocumentPatch(from: PlanDocument, patch: readonly PatchOperation[]): PlanDocument {
  return jsonPatch.applyPatch(jsonPatch.deepClone(from), patch as PatchOperation[], true, false).newDocument as PlanDocument;
}

const MAX_VALUE = 80;
function show(v: unknown): string {
  if (v === null || v === undefined) return 'none';
  if (typeof v === 'string') return JSON.stringify(v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE - 1)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '…';
}
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function fields(prefix: string, a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined, out: string[], skip: string[] = []): void {
  if (!a && !b) return;
  if (!a) { out.push(`${prefix} details added`); return; }
  if (!b) { out.push(`${prefix} details removed`); return; }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (skip.includes(k) || same(a[k], b[k])) continue;
    const label = prefix ? `${prefix}.${k}` : k;
    const scalar = (v: unknown) => v === null || v === undefined || typeof v !== 'object';
    out.push(scalar(a[k]) && scalar(b[k]) ? `${label}: ${show(a[k])} → ${show(b[k])}` : `${label} changed`);
  }
}

function items<T extends { id: string }>(label: string, name: (x: T) => string, a: readonly T[], b: readonly T[], out: string[]): void {
  const before = new Map(a.map((x) => [x.id, x]));
  const after = new Map(b.map((x) => [x.id, x]));
  for (const x of b) {
    const old = before.get(x.id);
    if (!old) out.push(`${label} added: ${show(name(x))}`);
    else if (!same(old, x)) {
      const changed = Object.keys(x).filter((k) => !same((old as Record<string, unknown>)[k], (x as Record<string, unknown>)[k]));
      out.push(`${label} ${show(name(x))} changed (${changed.join(', ')})`);
    }
  }
  for (const x of a) if (!after.has(x.id)) out.push(`${label} removed: ${show(name(x))}`);
  const order = (xs: readonly T[], keep: Map<string, T>) => xs.filter((x) => keep.has(x.id)).map((x) => x.id).join();
  if (order(a, after) !== order(b, before)) out.push(`${label}s reordered`);
}

/** What changed from one document to the next, one line per change, in document order. */
export function documentSummary(from: PlanDocument, to: PlanDocument): string[] {
  const out: string[] = [];
  fields('', from.plan as unknown as Record<string, unknown>, to.plan as unknown as Record<string, unknown>, out);
  fields('travel', from.travel as Record<string, unknown> | undefined, to.travel as Record<string, unknown> | undefined, out);
  fields('campaign', from.campaign as Record<string, unknown> | undefined, to.campaign as Record<string, unknown> | undefined, out, ['ideas', 'channelPlans']);
  if (from.campaign && to.campaign) {
    items('idea', (i) => i.theme, from.campaign.ideas, to.campaign.ideas, out);
    items('channel plan', (p) => p.channel, from.campaign.channelPlans, to.campaign.channelPlans, out);
  }
  return out;
}
