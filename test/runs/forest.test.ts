import { describe, expect, it } from 'vitest';
import { nest, NEST_MAX_DEPTH } from '../../src/runs/forest.js';

/** The cycle- and depth-safe nesting under span trees and trace trees (pure; no database). */

interface N { id: string; parent?: string; home?: string; children: N[] }
const make = (pairs: [string, string?, string?][]): N[] => pairs.map(([id, parent, home]) => ({ id, parent, home, children: [] }));
function run(nodes: N[]) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return nest(nodes, (n) => (n.parent ? byId.get(n.parent) : undefined), (p, c) => p.children.push(c), (n) => (n.home ? byId.get(n.home) : undefined));
}
const count = (ns: N[]): number => ns.reduce((s, n) => s + 1 + count(n.children), 0);
const shape = (n: N): unknown => (n.children.length ? { [n.id]: n.children.map(shape) } : n.id);

describe('nest', () => {
  it('nests by parent; an unknown parent makes a root', () => {
    expect(run(make([['a'], ['b', 'a'], ['c', 'b'], ['d', 'zz']])).map(shape)).toEqual([{ a: [{ b: ['c'] }] }, 'd']);
  });

  it('cuts a cycle at the link that closes it, falling back to the node\'s home when that closes none', () => {
    const roots = run(make([['home'], ['x', 'y', 'home'], ['y', 'x', 'home'], ['self', 'self', 'home']]));
    expect(roots.map(shape)).toEqual([{ home: [{ y: ['x'] }, 'self'] }]);
    // Without a home, the node whose link closed the cycle is a root; nothing is lost or repeated.
    const bare = run(make([['p', 'q'], ['q', 'r'], ['r', 'p']]));
    expect(bare).toHaveLength(1);
    expect(count(bare)).toBe(3);
  });

  it('a 10 000-long chain nests at most NEST_MAX_DEPTH + 1 deep, every node inside its anchor, and serializes', () => {
    const chain = make(Array.from({ length: 10_000 }, (_, i) => [`n${i}`, i ? `n${i - 1}` : undefined] as [string, string?]));
    const roots = run(chain);
    expect(roots).toHaveLength(1);
    expect(count(roots)).toBe(10_000);
    let n = roots[0]!;
    let levels = 0;
    while (n.children.length === 1) {
      n = n.children[0]!;
      levels++;
    }
    expect(levels).toBe(NEST_MAX_DEPTH);
    expect(n.id).toBe(`n${NEST_MAX_DEPTH}`);
    expect(n.children.map((c) => c.id)).toEqual(chain.slice(NEST_MAX_DEPTH + 1).map((c) => c.id));
    expect(() => JSON.stringify(roots)).not.toThrow();
  });
});
