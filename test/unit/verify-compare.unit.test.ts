import { describe, expect, it } from 'vitest';
import { Decimal } from '../../src/records/decimal.js';
import { compareRows } from '../../src/rebuild/verify.js';

const key = { isbn: 'big-€', shelf: 'Ünïcødé-📚' };

describe('verify compares a view row field by field', () => {
  it('finds no drift where only the order of a map’s attributes or a set’s members differs, as DynamoDB returns them', () => {
    // As a scan gave them, then as the row read back gave them: DynamoDB keeps no order in a map or a set.
    const expected = {
      notes: [{ $bytes: new Uint8Array([0]), $$bytes: 'x', 'ключ🔑': new Set([new Uint8Array([]), new Uint8Array([255])]) }],
      tags: new Set(['', '$bytes', 'ü']),
      ratings: new Set([Decimal.parse('1.5'), 2, 99999999999999999999n]),
    };
    const stored = {
      ratings: new Set([99999999999999999999n, 2, Decimal.parse('1.5')]),
      tags: new Set(['ü', '', '$bytes']),
      notes: [{ 'ключ🔑': new Set([new Uint8Array([255]), new Uint8Array([])]), $$bytes: 'x', $bytes: new Uint8Array([0]) }],
    };
    expect(compareRows([{ key, value: stored }], [{ key, value: expected }])).toEqual([]);
  });

  it('still finds a changed member, a reordered list and a missing attribute', () => {
    const expected = { notes: [{ a: 1, b: 2 }], order: [1, 2], tags: new Set(['x', 'y']) };
    const stored = { notes: [{ b: 2 }], order: [2, 1], tags: new Set(['y', 'z']) };
    expect(compareRows([{ key, value: stored }], [{ key, value: expected }]).map((drift) => drift.field)).toEqual(['notes', 'order', 'tags']);
  });
});

describe('verify and optional fields', () => {
  it('takes a field the fold left undefined as missing, as DynamoDB stores it', () => {
    // `evolve` returned `{ title, tags: image.tags }` for an item without tags: the row written has no `tags`.
    const expected = { title: 'T1', tags: undefined, toString: 'a field named like a method' };
    const stored = { title: 'T1', toString: 'a field named like a method' };
    expect(compareRows([{ key, value: stored }], [{ key, value: expected }])).toEqual([]);
    expect(compareRows([{ key, value: { title: 'T1' } }], [{ key, value: expected }])).toEqual([
      { key: JSON.stringify(key), field: 'toString', stored: '(missing)', expected: '"a field named like a method"' },
    ]);
  });
});
