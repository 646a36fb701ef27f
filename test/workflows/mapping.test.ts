import { describe, expect, it } from 'vitest';
import { evaluateMapping, parsePath } from '../../src/workflows/index.js';

const ctx = {
  input: { city: 'Lisbon', tags: ['sea', 'food'], 'first name': 'Ana' },
  steps: { search: { items: [{ name: 'A' }, { name: 'B' }], total: 2 }, empty: null },
  item: { id: 7 },
  index: 3,
};

describe('mappings', () => {
  it('replaces paths, walks objects and arrays, keeps literals', () => {
    expect(evaluateMapping({
      city: '$.input.city',
      first: '$.steps.search.output.items[0].name',
      all: '$.steps.search.output',
      pair: ['$.input.tags[1]', 5, true, null, 'plain'],
      quoted: '$.input["first name"]',
      item: '$.item.id',
      index: '$.index',
      escaped: '$$.input.city',
    }, ctx)).toEqual({
      city: 'Lisbon', first: 'A', all: ctx.steps.search, pair: ['food', 5, true, null, 'plain'], quoted: 'Ana', item: 7, index: 3,
      escaped: '$.input.city',
    });
  });

  it('yields null where a path leads nowhere', () => {
    expect(evaluateMapping(['$.input.nope', '$.input.tags[9]', '$.input.city[0]', '$.steps.missing.output', '$.steps.empty.output.x'], ctx))
      .toEqual([null, null, null, null, null]);
  });

  it('parses what the definition check needs, and refuses what it cannot read', () => {
    expect(parsePath('$.steps.search.output.items[0]')).toMatchObject({ root: 'steps', step: 'search', segments: ['items', 0] });
    expect(parsePath('$.input')).toMatchObject({ root: 'input', segments: [] });
    for (const bad of ['$', '$.', '$.steps.search', '$.steps.search.input', '$.input[-1]', '$.input[a]', '$.input..x', '$.input["x]', '$.other']) {
      expect(() => parsePath(bad), bad).toThrow(/path/);
    }
  });
});
