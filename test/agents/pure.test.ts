import { describe, expect, it } from 'vitest';
import { diffConfig } from '../../src/agents/config-diff.js';
import { compareSemver, greatestSemver, SEMVER_RE } from '../../src/agents/semver.js';
import { firstFreeSlug, slugify } from '../../src/agents/slug.js';

describe('semver precedence', () => {
  // The example chain from semver.org, item 11, each lower than the next.
  const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0'];

  it('orders the semver.org example chain', () => {
    for (let i = 0; i < chain.length - 1; i++) {
      expect(compareSemver(chain[i]!, chain[i + 1]!), `${chain[i]} < ${chain[i + 1]}`).toBeLessThan(0);
      expect(compareSemver(chain[i + 1]!, chain[i]!)).toBeGreaterThan(0);
    }
    expect([...chain].reverse().sort(compareSemver)).toEqual(chain);
  });

  it('ignores build metadata and compares huge numbers exactly', () => {
    expect(compareSemver('1.0.0+a', '1.0.0+b')).toBe(0);
    expect(compareSemver('1.0.0-rc.1+x', '1.0.0-rc.1')).toBe(0);
    expect(compareSemver('9007199254740993.0.0', '9007199254740992.0.0')).toBeGreaterThan(0);
    expect(compareSemver('1.0.0-rc.9007199254740993', '1.0.0-rc.9007199254740992')).toBeGreaterThan(0);
  });

  it('picks the greatest', () => {
    expect(greatestSemver([])).toBeUndefined();
    expect(greatestSemver(['1.9.0', '1.10.0', '1.10.0-rc.1'])).toBe('1.10.0');
  });

  it.each(['1.0', '1.0.0.0', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0-01', '1.0.0+', '1.0.0-a..b', ' 1.0.0'])('refuses %j', (v) => {
    expect(SEMVER_RE.test(v)).toBe(false);
    expect(() => compareSemver(v, '1.0.0')).toThrow();
  });
});

describe('slugs', () => {
  it.each([
    ['Trip Planner', 'trip-planner'],
    ['  Café Über--Bot!! ', 'cafe-uber-bot'],
    ['日本語', 'agent'],
    ['x'.repeat(200), 'x'.repeat(90)],
    [`${'a'.repeat(89)} b`, 'a'.repeat(89)],
  ])('slugify(%j) = %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('finds the first free suffix', () => {
    expect(firstFreeSlug('a', new Set())).toBe('a');
    expect(firstFreeSlug('a', new Set(['a', 'a-2', 'a-4']))).toBe('a-3');
  });
});

describe('config diff', () => {
  it('walks objects, compares arrays whole and keys tools by name', () => {
    const from = { a: 1, o: { x: 1, y: [1, 2] }, tools: [{ name: 't', d: 'one' }, { name: 'gone', d: 'x' }] };
    const to = { a: 1, o: { x: 2, y: [1, 2, 3], z: null }, tools: [{ name: 't', d: 'two' }, { name: 'new', d: 'y' }] };
    expect(diffConfig(from, to)).toEqual([
      { field: 'o.x', from: 1, to: 2 },
      { field: 'o.y', from: [1, 2], to: [1, 2, 3] },
      { field: 'tools.gone', from: { name: 'gone', d: 'x' }, to: null },
      { field: 'tools.new', from: null, to: { name: 'new', d: 'y' } },
      { field: 'tools.t.d', from: 'one', to: 'two' },
    ]);
  });

  it('does not report key order as a change', () => {
    expect(diffConfig({ s: [{ a: 1, b: 2 }] }, { s: [{ b: 2, a: 1 }] })).toEqual([]);
  });
});
