/**
 * Nests records under their parents when each names at most one parent.
 * Parent links come from clients (span ids, parent executions) and may form
 * cycles; a cycle would hide its members (none is a root) or make the answer
 * infinitely deep, so the link that closes a cycle is replaced by the node's
 * fallback parent (a span's execution, say) when that closes no cycle, and
 * dropped otherwise (the node becomes a root).
 *
 * Depth is bounded too: JSON.stringify recurses, and a chain of a few
 * thousand spans nested as deep overflows its stack (a 500). Nodes below
 * NEST_MAX_DEPTH levels are attached flat, in order, to their ancestor at
 * that level, so they all stay inside its subtree. Iterative throughout.
 */
export const NEST_MAX_DEPTH = 100;

export function nest<T>(
  nodes: readonly T[],
  parentOf: (n: T) => T | undefined,
  attach: (parent: T, child: T) => void,
  fallback: (n: T) => T | undefined = () => undefined,
): T[] {
  const known = new Set(nodes);
  const parent = new Map<T, T | undefined>();
  for (const n of nodes) {
    const p = parentOf(n);
    parent.set(n, p !== undefined && known.has(p) ? p : undefined);
  }
  // 1: on the path being walked, 2: settled (its chain ends at a root).
  const state = new Map<T, 1 | 2>();
  for (const start of nodes) {
    const path: T[] = [];
    let n: T | undefined = start;
    while (n !== undefined && !state.has(n)) {
      state.set(n, 1);
      path.push(n);
      let p = parent.get(n);
      if (p !== undefined && state.get(p) === 1) {
        const f = fallback(n);
        p = f !== undefined && known.has(f) && state.get(f) !== 1 ? f : undefined;
        parent.set(n, p);
      }
      n = p;
    }
    for (const x of path) state.set(x, 2);
  }
  const roots: T[] = [];
  const kids = new Map<T, T[]>();
  for (const n of nodes) {
    const p = parent.get(n);
    if (p === undefined) roots.push(n);
    else if (kids.has(p)) kids.get(p)!.push(n);
    else kids.set(p, [n]);
  }
  // Breadth first from the roots: depth 0 is a root; anchor is where a node's children attach.
  const depth = new Map<T, number>();
  const anchor = new Map<T, T>();
  for (const r of roots) {
    depth.set(r, 0);
    anchor.set(r, r);
  }
  const queue = [...roots];
  for (let i = 0; i < queue.length; i++) {
    const p = queue[i]!;
    const d = depth.get(p)!;
    for (const c of kids.get(p) ?? []) {
      if (d < NEST_MAX_DEPTH) {
        attach(p, c);
        depth.set(c, d + 1);
        anchor.set(c, c);
      } else {
        const a = anchor.get(p)!;
        attach(a, c);
        depth.set(c, NEST_MAX_DEPTH + 1);
        anchor.set(c, a);
      }
      queue.push(c);
    }
  }
  return roots;
}
